//! Printing in mathjs syntax (the spacing of mathjs's `toString()`).

use super::*;
use num_traits::Signed;
use std::fmt::Write;

pub fn fmt_rational(r: &BigRational) -> String {
    if r.is_integer() {
        r.numer().to_string()
    } else {
        format!("{}/{}", r.numer(), r.denom())
    }
}

pub(super) fn prec_of(n: &Node) -> u8 {
    match n {
        Node::Num(r) => {
            if r.is_negative() {
                7
            } else if !r.is_integer() {
                6
            } else {
                10
            }
        }
        Node::Bool(_) | Node::Sym(_) | Node::Call(..) => 10,
        Node::Neg(_) | Node::Not(_) => 7,
        Node::Bin(op, ..) => op.prec(),
        Node::Factorial(_) => 9,
    }
}

/// Prints in mathjs syntax (the same spacing as mathjs's `toString()`).
pub fn to_string(n: &Node) -> String {
    let mut s = String::new();
    write_node(n, &mut s);
    s
}

fn wrap(n: &Node, need_paren: bool, s: &mut String) {
    if need_paren {
        s.push('(');
        write_node(n, s);
        s.push(')');
    } else {
        write_node(n, s);
    }
}

fn write_node(n: &Node, s: &mut String) {
    grow(|| write_inner(n, s))
}

fn write_inner(n: &Node, s: &mut String) {
    match n {
        Node::Num(r) => {
            if r.is_negative() {
                s.push('-');
                s.push_str(&fmt_rational(&-r.clone()));
            } else {
                s.push_str(&fmt_rational(r));
            }
        }
        Node::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Node::Sym(x) => s.push_str(x),
        Node::Neg(a) => {
            s.push('-');
            wrap(a, prec_of(a) < 7 || matches!(**a, Node::Neg(_)), s);
        }
        Node::Not(a) => {
            s.push_str("not ");
            wrap(a, prec_of(a) < 7, s);
        }
        Node::Factorial(a) => {
            wrap(a, prec_of(a) < 10, s);
            s.push('!');
        }
        Node::Call(f, args) => {
            s.push_str(f);
            s.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_node(a, s);
            }
            s.push(')');
        }
        Node::Bin(op, a, b) => {
            let p = op.prec();
            if *op == BinOp::Pow {
                // right-associative; a unary/negative base needs parens
                wrap(
                    a,
                    prec_of(a) <= p
                        || matches!(**a, Node::Num(ref r) if !r.is_integer() || r.is_negative()),
                    s,
                );
                s.push_str(" ^ ");
                wrap(b, prec_of(b) < p && !matches!(**b, Node::Neg(_)), s);
            } else {
                wrap(a, prec_of(a) < p, s);
                let _ = write!(s, " {} ", op.symbol());
                // right operands of equal precedence keep their parentheses so the tree
                // round-trips exactly (a + (b + c) is not printed as a + b + c)
                let right_paren = prec_of(b) <= p;
                wrap(b, right_paren, s);
            }
        }
    }
}
