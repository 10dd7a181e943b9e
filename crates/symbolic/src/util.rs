//! Non-recursive helpers safe on arbitrarily deep trees.
use crate::ast::Node;

pub fn depth_iter(n: &Node) -> usize {
    let mut stack: Vec<(&Node, usize)> = vec![(n, 1)];
    let mut best = 0;
    while let Some((x, d)) = stack.pop() {
        best = best.max(d);
        match x {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => {}
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => stack.push((a, d + 1)),
            Node::Bin(_, a, b) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
            Node::Call(_, args) => args.iter().for_each(|a| stack.push((a, d + 1))),
        }
    }
    best
}
