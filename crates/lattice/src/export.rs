//! Exports: JSON, Graphviz DOT and a self-contained SVG of the Hasse
//! diagram. Labels are reduced as in ConExp: an attribute is written at its
//! attribute concept (m', m''), an object at its object concept.

use serde_json::{json, Value};

use crate::lattice::Lattice;

fn names(all: &[String], idx: impl Iterator<Item = usize>) -> Vec<String> {
    idx.map(|i| all[i].clone()).collect()
}

/// Reduced labels: (attributes introduced, objects introduced) per concept.
pub fn reduced_labels(l: &Lattice) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let ctx = l.context();
    let mut attrs = vec![Vec::new(); l.len()];
    let mut objs = vec![Vec::new(); l.len()];
    for m in 0..ctx.n_attributes() {
        let id = l.concept_of_attributes(&crate::bits::Bits::from_indices(ctx.n_attributes(), [m]));
        attrs[id as usize].push(m);
    }
    for g in 0..ctx.n_objects() {
        let id = l.id_of_intent(ctx.row(g)).expect("object intents are closed");
        objs[id as usize].push(g);
    }
    (attrs, objs)
}

pub fn to_json(l: &Lattice) -> Value {
    let ctx = l.context();
    let concepts: Vec<Value> = (0..l.len())
        .map(|i| {
            let c = l.concept(i);
            json!({
                "id": i,
                "extent": names(ctx.objects(), c.extent.ones()),
                "intent": names(ctx.attributes(), c.intent.ones()),
                "upper": l.upper_covers(i),
                "lower": l.lower_covers(i),
            })
        })
        .collect();
    json!({ "objects": ctx.objects(), "attributes": ctx.attributes(), "top": l.top(), "bottom": l.bottom(), "concepts": concepts })
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn to_dot(l: &Lattice) -> String {
    let ctx = l.context();
    let (attrs, objs) = reduced_labels(l);
    let mut s =
        String::from("digraph lattice {\n  rankdir=BT;\n  node [shape=circle, width=0.2, label=\"\", fontsize=10];\n  edge [dir=none];\n");
    for i in 0..l.len() {
        let a = names(ctx.attributes(), attrs[i].iter().copied()).join(", ");
        let o = names(ctx.objects(), objs[i].iter().copied()).join(", ");
        s.push_str(&format!(
            "  c{i} [xlabel=\"{}\", tooltip=\"{}\"];\n",
            dot_escape(&[a.as_str(), o.as_str()].iter().filter(|x| !x.is_empty()).copied().collect::<Vec<_>>().join(" / ")),
            dot_escape(&o)
        ));
    }
    for i in 0..l.len() {
        for &j in l.lower_covers(i) {
            s.push_str(&format!("  c{j} -> c{i};\n"));
        }
    }
    s.push_str("}\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Layered layout: rows are the longest-path levels from the top; within a
/// row, nodes are ordered by the barycentre of their neighbours in the row
/// above and below (a few alternating sweeps, the Sugiyama heuristic).
pub fn layout(l: &Lattice) -> Vec<(f64, f64)> {
    let levels = l.levels();
    let depth = levels.iter().copied().max().unwrap_or(0) as usize + 1;
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); depth];
    for (i, &lv) in levels.iter().enumerate() {
        rows[lv as usize].push(i as u32);
    }
    let mut pos = vec![0f64; l.len()];
    for r in &rows {
        for (k, &i) in r.iter().enumerate() {
            pos[i as usize] = k as f64 - (r.len() as f64 - 1.0) / 2.0;
        }
    }
    for sweep in 0..8 {
        let down = sweep % 2 == 0;
        let order: Vec<usize> = if down { (1..depth).collect() } else { (0..depth.saturating_sub(1)).rev().collect() };
        for lv in order {
            let mut bary: Vec<(f64, u32)> = rows[lv]
                .iter()
                .map(|&i| {
                    let nb = if down { l.upper_covers(i as usize) } else { l.lower_covers(i as usize) };
                    let b =
                        if nb.is_empty() { pos[i as usize] } else { nb.iter().map(|&j| pos[j as usize]).sum::<f64>() / nb.len() as f64 };
                    (b, i)
                })
                .collect();
            bary.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let w = bary.len() as f64;
            for (k, (_, i)) in bary.iter().enumerate() {
                pos[*i as usize] = k as f64 - (w - 1.0) / 2.0;
            }
            rows[lv] = bary.into_iter().map(|x| x.1).collect();
        }
    }
    (0..l.len()).map(|i| (pos[i], levels[i] as f64)).collect()
}

pub fn to_svg(l: &Lattice) -> String {
    let ctx = l.context();
    let (attrs, objs) = reduced_labels(l);
    let xy = layout(l);
    let (dx, dy, pad) = (90.0, 80.0, 60.0);
    let minx = xy.iter().map(|p| p.0).fold(0.0, f64::min);
    let maxx = xy.iter().map(|p| p.0).fold(0.0, f64::max);
    let maxy = xy.iter().map(|p| p.1).fold(0.0, f64::max);
    let (w, h) = ((maxx - minx) * dx + 2.0 * pad, maxy * dy + 2.0 * pad);
    let at = |i: usize| ((xy[i].0 - minx) * dx + pad, xy[i].1 * dy + pad);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"sans-serif\" font-size=\"11\">\n<g stroke=\"#555\" stroke-width=\"1\">\n");
    for i in 0..l.len() {
        for &j in l.lower_covers(i) {
            let ((x1, y1), (x2, y2)) = (at(i), at(j as usize));
            s.push_str(&format!("<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>\n"));
        }
    }
    s.push_str("</g>\n");
    for i in 0..l.len() {
        let (x, y) = at(i);
        let c = l.concept(i);
        s.push_str(&format!(
            "<g class=\"concept\" data-id=\"{i}\"><title>{} objects; intent: {}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\" fill=\"{}\" stroke=\"#222\"/>",
            c.extent.count(),
            xml(&names(ctx.attributes(), c.intent.ones()).join(", ")),
            if objs[i].is_empty() { "#fff" } else { "#4a7bd0" }
        ));
        if !attrs[i].is_empty() {
            s.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x,
                y - 11.0,
                xml(&names(ctx.attributes(), attrs[i].iter().copied()).join(", "))
            ));
        }
        if !objs[i].is_empty() {
            s.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#335\">{}</text>",
                x,
                y + 20.0,
                xml(&names(ctx.objects(), objs[i].iter().copied()).join(", "))
            ));
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}
