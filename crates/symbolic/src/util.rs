//! Non-recursive helpers safe on arbitrarily deep trees.
use crate::ast::{BinOp, Node};

pub fn depth_iter(n: &Node) -> usize {
    depth_walk(n, false)
}

/// Depth of `n`, iteratively. With `flat_sums`, the left operand of `+`/`-` stays at its
/// parent's depth: the canonical form flattens a sum's left spine without recursing, so a
/// 100,000-term sum nests 2 deep for it, not 100,000.
pub fn depth_walk(n: &Node, flat_sums: bool) -> usize {
    let mut stack: Vec<(&Node, usize)> = vec![(n, 1)];
    let mut best = 0;
    while let Some((x, d)) = stack.pop() {
        best = best.max(d);
        match x {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => {}
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => stack.push((a, d + 1)),
            Node::Bin(op, a, b) => {
                let spine = flat_sums && matches!(op, BinOp::Add | BinOp::Sub);
                stack.push((a, if spine { d } else { d + 1 }));
                stack.push((b, d + 1));
            }
            Node::Call(_, args) => args.iter().for_each(|a| stack.push((a, d + 1))),
        }
    }
    best
}
