//! Bindings for `omnitide-lattice`: typed-array conversion, async builds and
//! error mapping only. Attribute/object sets cross as packed index arrays
//! (`data` + `ends`), so a batch of queries is one call.

use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::Error as OmniErr;
use omnitide_lattice::bits::pack;
use omnitide_lattice::scale::{self, Column, Scale, Value};
use omnitide_lattice::{association_rules, export, io, BuildOptions, Context, Lattice};
use serde_json::json;

use crate::error::guard;
use crate::task;

#[napi(object)]
pub struct LatticeContextData {
    pub objects: Vec<String>,
    pub attributes: Vec<String>,
    /// Attribute indices of every object, back to back.
    pub row_data: Uint32Array,
    /// End offset of each object's row in `row_data`.
    pub row_ends: Uint32Array,
}

#[napi(object)]
pub struct LatticePacked {
    pub data: Uint32Array,
    pub ends: Uint32Array,
}

#[napi(object)]
pub struct LatticeBuildOptions {
    pub limit: Option<f64>,
    pub max_bytes: Option<f64>,
}

fn packed((data, ends): (Vec<u32>, Vec<u32>)) -> LatticePacked {
    LatticePacked { data: Uint32Array::new(data), ends: Uint32Array::new(ends) }
}

fn ctx_data(c: &Context) -> LatticeContextData {
    let (data, ends) = pack((0..c.n_objects()).map(|g| c.row(g)));
    LatticeContextData {
        objects: c.objects().to_vec(),
        attributes: c.attributes().to_vec(),
        row_data: Uint32Array::new(data),
        row_ends: Uint32Array::new(ends),
    }
}

fn ctx_from(objects: Vec<String>, attributes: Vec<String>, data: &[u32], ends: &[u32]) -> omnitide_common::Result<Context> {
    let mut rows = Vec::with_capacity(ends.len());
    let mut start = 0usize;
    for (i, &e) in ends.iter().enumerate() {
        let e = e as usize;
        if e < start || e > data.len() {
            return Err(OmniErr::invalid_arg("rowEnds", format!("entry {i} = {e} is out of order or past rowData")));
        }
        rows.push(data[start..e].to_vec());
        start = e;
    }
    Context::new(objects, attributes, &rows)
}

fn options(o: Option<LatticeBuildOptions>) -> omnitide_common::Result<BuildOptions> {
    let mut b = BuildOptions::default();
    if let Some(o) = o {
        let int = |arg: &str, v: f64| -> omnitide_common::Result<usize> {
            if v.fract() != 0.0 || v < 1.0 || !v.is_finite() {
                return Err(OmniErr::invalid_arg(arg, format!("must be a positive integer, got {v}")));
            }
            Ok(v as usize)
        };
        if let Some(l) = o.limit {
            b.limit = int("limit", l)?;
        }
        if let Some(m) = o.max_bytes {
            b.max_bytes = int("maxBytes", m)?;
        }
    }
    Ok(b)
}

/// Checks a context given as arrays (duplicate names, index ranges) and returns it normalised.
#[napi]
pub fn lattice_make_context(
    objects: Vec<String>,
    attributes: Vec<String>,
    row_data: &[u32],
    row_ends: &[u32],
) -> Result<LatticeContextData> {
    guard(|| Ok(ctx_data(&ctx_from(objects, attributes, row_data, row_ends)?)))
}

/// Parses a `.cxt` or CSV text (`file` names it in error messages).
#[napi]
pub fn lattice_parse_context(text: String, format: String, file: String) -> Result<LatticeContextData> {
    guard(|| {
        let c = match format.as_str() {
            "cxt" => io::read_cxt(&text, &file)?,
            "csv" => io::read_csv(&text, &file)?,
            f => return Err(OmniErr::invalid_arg("format", format!("expected 'cxt' or 'csv', got '{f}'"))),
        };
        Ok(ctx_data(&c))
    })
}

/// Writes a context as `.cxt` or CSV text.
#[napi]
pub fn lattice_format_context(
    objects: Vec<String>,
    attributes: Vec<String>,
    row_data: &[u32],
    row_ends: &[u32],
    format: String,
) -> Result<String> {
    guard(|| {
        let c = ctx_from(objects, attributes, row_data, row_ends)?;
        match format.as_str() {
            "cxt" => Ok(io::write_cxt(&c)),
            "csv" => Ok(io::write_csv(&c)),
            f => Err(OmniErr::invalid_arg("format", format!("expected 'cxt' or 'csv', got '{f}'"))),
        }
    })
}

/// Conceptual scaling of a many-valued context given as JSON
/// `{ objects, columns: [{ name, values, scale: { kind, thresholds?, bounds?, descending? } }] }`.
#[napi]
pub fn lattice_scale(spec: String) -> Result<LatticeContextData> {
    guard(|| {
        let v: serde_json::Value = serde_json::from_str(&spec).map_err(|e| OmniErr::invalid_arg("spec", e))?;
        let objects: Vec<String> = serde_json::from_value(v["objects"].clone()).map_err(|e| OmniErr::invalid_arg("objects", e))?;
        let nums =
            |x: &serde_json::Value| -> Vec<f64> { x.as_array().map(|a| a.iter().filter_map(|n| n.as_f64()).collect()).unwrap_or_default() };
        let mut cols = Vec::new();
        for c in v["columns"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let values = c["values"].as_array().into_iter().flatten().map(|x| match x {
                serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(s) => Value::Text(s.clone()),
                serde_json::Value::Bool(b) => Value::Text(b.to_string()),
                _ => Value::Missing,
            });
            let s = &c["scale"];
            let scale = match s["kind"].as_str() {
                Some("nominal") => Scale::Nominal,
                Some("ordinal") => {
                    Scale::Ordinal { thresholds: nums(&s["thresholds"]), descending: s["descending"].as_bool().unwrap_or(false) }
                }
                Some("interordinal") => Scale::Interordinal { thresholds: nums(&s["thresholds"]) },
                Some("interval") => Scale::Interval { bounds: nums(&s["bounds"]) },
                k => return Err(OmniErr::invalid_arg(&format!("columns.{name}.scale.kind"), format!("unknown scale {k:?}"))),
            };
            cols.push(Column { name, values: values.collect(), scale });
        }
        Ok(ctx_data(&scale::scale(objects, &cols)?))
    })
}

/// A concept lattice with its context. Shared with async tasks through a lock.
#[napi]
pub struct LatticeHandle {
    inner: Arc<RwLock<Lattice>>,
}

/// Builds the lattice on the libuv pool (mining itself uses all cores).
#[napi]
pub fn lattice_build_async<'e>(
    env: &'e Env,
    objects: Vec<String>,
    attributes: Vec<String>,
    row_data: &[u32],
    row_ends: &[u32],
    options: Option<LatticeBuildOptions>,
) -> Result<PromiseRaw<'e, LatticeHandle>> {
    let (ctx, opts) = guard(|| Ok((ctx_from(objects, attributes, row_data, row_ends)?, self::options(options)?)))?;
    task::spawn(env, move || Lattice::build(ctx, &opts), |l| LatticeHandle { inner: Arc::new(RwLock::new(l)) })
}

impl LatticeHandle {
    fn read<T>(&self, f: impl FnOnce(&Lattice) -> omnitide_common::Result<T>) -> Result<T> {
        guard(|| f(&self.inner.read().unwrap_or_else(|p| p.into_inner())))
    }
    fn write<T>(&self, f: impl FnOnce(&mut Lattice) -> omnitide_common::Result<T>) -> Result<T> {
        guard(|| f(&mut self.inner.write().unwrap_or_else(|p| p.into_inner())))
    }
}

#[napi]
impl LatticeHandle {
    /// Builds on the calling thread (small contexts).
    #[napi(factory)]
    pub fn build(
        objects: Vec<String>,
        attributes: Vec<String>,
        row_data: &[u32],
        row_ends: &[u32],
        options: Option<LatticeBuildOptions>,
    ) -> Result<Self> {
        guard(|| {
            let l = Lattice::build(ctx_from(objects, attributes, row_data, row_ends)?, &self::options(options)?)?;
            Ok(LatticeHandle { inner: Arc::new(RwLock::new(l)) })
        })
    }
    #[napi(getter)]
    pub fn size(&self) -> Result<u32> {
        self.read(|l| Ok(l.len() as u32))
    }
    #[napi(getter)]
    pub fn top(&self) -> Result<u32> {
        self.read(|l| Ok(l.top()))
    }
    #[napi(getter)]
    pub fn bottom(&self) -> Result<u32> {
        self.read(|l| Ok(l.bottom()))
    }
    #[napi]
    pub fn object_names(&self) -> Result<Vec<String>> {
        self.read(|l| Ok(l.context().objects().to_vec()))
    }
    #[napi]
    pub fn attribute_names(&self) -> Result<Vec<String>> {
        self.read(|l| Ok(l.context().attributes().to_vec()))
    }
    #[napi]
    pub fn context(&self) -> Result<LatticeContextData> {
        self.read(|l| Ok(ctx_data(l.context())))
    }
    /// Extents of all concepts (packed object indices, by concept id).
    #[napi]
    pub fn extents(&self) -> Result<LatticePacked> {
        self.read(|l| Ok(packed(pack(l.concepts().map(|c| c.extent)))))
    }
    #[napi]
    pub fn intents(&self) -> Result<LatticePacked> {
        self.read(|l| Ok(packed(pack(l.concepts().map(|c| c.intent)))))
    }
    /// Upper covers of all concepts (packed concept ids).
    #[napi]
    pub fn upper_covers(&self) -> Result<LatticePacked> {
        self.read(|l| Ok(packed(flat((0..l.len()).map(|i| l.upper_covers(i))))))
    }
    #[napi]
    pub fn lower_covers(&self) -> Result<LatticePacked> {
        self.read(|l| Ok(packed(flat((0..l.len()).map(|i| l.lower_covers(i))))))
    }
    #[napi]
    pub fn join(&self, ids: &[u32]) -> Result<u32> {
        self.read(|l| l.join(ids))
    }
    #[napi]
    pub fn meet(&self, ids: &[u32]) -> Result<u32> {
        self.read(|l| l.meet(ids))
    }
    /// a[i] ≤ b[i] for every pair (1/0 per pair).
    #[napi]
    pub fn leq_many(&self, a: &[u32], b: &[u32]) -> Result<Uint8Array> {
        self.read(|l| {
            if a.len() != b.len() {
                return Err(OmniErr::invalid_arg("b", format!("expected {} ids like a, got {}", a.len(), b.len())));
            }
            Ok(Uint8Array::new(a.iter().zip(b).map(|(&x, &y)| l.leq(x, y).map(u8::from)).collect::<omnitide_common::Result<Vec<u8>>>()?))
        })
    }
    #[napi]
    pub fn ancestors(&self, id: u32) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.ancestors(id)?)))
    }
    #[napi]
    pub fn descendants(&self, id: u32) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.descendants(id)?)))
    }
    #[napi]
    pub fn levels(&self) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.levels())))
    }
    #[napi]
    pub fn stability(&self, max_concepts: u32) -> Result<Float64Array> {
        self.read(|l| Ok(Float64Array::new(l.stability(max_concepts as usize)?)))
    }
    #[napi]
    pub fn iceberg(&self, min_support: u32) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.iceberg(min_support as usize))))
    }
    /// Closures of packed attribute sets, packed.
    #[napi]
    pub fn closure_many(&self, data: &[u32], ends: &[u32]) -> Result<LatticePacked> {
        self.read(|l| Ok(packed(l.context().closure_packed_many("sets", data, ends)?)))
    }
    /// Closures of packed attribute sets as bit words, ceil(m / 32) per set.
    #[napi]
    pub fn closure_words_many(&self, data: &[u32], ends: &[u32]) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.context().closure_words_many("sets", data, ends)?)))
    }
    /// Ids of the concepts generated by packed attribute sets.
    #[napi]
    pub fn concept_of_many(&self, data: &[u32], ends: &[u32]) -> Result<Uint32Array> {
        self.read(|l| Ok(Uint32Array::new(l.concept_of_many(&l.context().unpack_sets("sets", data, ends, true)?))))
    }
    /// Ids of the concepts generated by packed object sets.
    #[napi]
    pub fn concept_of_objects_many(&self, data: &[u32], ends: &[u32]) -> Result<Uint32Array> {
        self.read(|l| {
            Ok(Uint32Array::new(l.context().unpack_sets("sets", data, ends, false)?.iter().map(|s| l.concept_of_objects(s)).collect()))
        })
    }
    /// Membership: 1 where the set is an intent of the lattice.
    #[napi]
    pub fn is_intent_many(&self, data: &[u32], ends: &[u32]) -> Result<Uint8Array> {
        self.read(|l| {
            Ok(Uint8Array::new(l.is_intent_many(&l.context().unpack_sets("sets", data, ends, true)?).into_iter().map(u8::from).collect()))
        })
    }
    /// Per set: the concepts whose intent contains it (packed ids).
    #[napi]
    pub fn concepts_with_attributes_many(&self, data: &[u32], ends: &[u32]) -> Result<LatticePacked> {
        self.read(|l| {
            let sets = l.context().unpack_sets("sets", data, ends, true)?;
            let r: Vec<Vec<u32>> = sets.iter().map(|s| l.concepts_with_attributes(s)).collect();
            Ok(packed(flat(r.iter().map(|v| v.as_slice()))))
        })
    }
    /// Per set: the most specific concepts a new object with these attributes falls under.
    #[napi]
    pub fn classify_many(&self, data: &[u32], ends: &[u32]) -> Result<LatticePacked> {
        self.read(|l| {
            let sets = l.context().unpack_sets("sets", data, ends, true)?;
            let r: Vec<Vec<u32>> = sets.iter().map(|s| l.classify(s)).collect();
            Ok(packed(flat(r.iter().map(|v| v.as_slice()))))
        })
    }
    /// Jaccard similarity of extents and of intents for each pair (a[i], b[i]), interleaved.
    #[napi]
    pub fn similarity_many(&self, a: &[u32], b: &[u32]) -> Result<Float64Array> {
        self.read(|l| {
            if a.len() != b.len() {
                return Err(OmniErr::invalid_arg("b", format!("expected {} ids like a, got {}", a.len(), b.len())));
            }
            let mut out = Vec::with_capacity(2 * a.len());
            for (&x, &y) in a.iter().zip(b) {
                let (e, i) = l.similarity(x, y)?;
                out.push(e);
                out.push(i);
            }
            Ok(Float64Array::new(out))
        })
    }
    #[napi]
    pub fn add_object(&self, name: String, attributes: &[u32]) -> Result<u32> {
        self.write(|l| l.add_object(&name, attributes))
    }
    #[napi]
    pub fn remove_object(&self, name: String) -> Result<()> {
        self.write(|l| l.remove_object(&name))
    }
    #[napi]
    pub fn add_attribute(&self, name: String, objects: &[u32]) -> Result<u32> {
        self.write(|l| l.add_attribute(&name, objects))
    }
    #[napi]
    pub fn remove_attribute(&self, name: String) -> Result<()> {
        self.write(|l| l.remove_attribute(&name))
    }
    /// The canonical basis as JSON `[{premise, conclusion, support}]` (attribute indices).
    #[napi]
    pub fn implications(&self, limit: u32) -> Result<String> {
        self.write(|l| Ok(basis_json(l.basis(limit as usize)?)))
    }
    /// `implications` on the libuv pool (the basis can take long on large contexts).
    #[napi]
    pub fn implications_async<'e>(&self, env: &'e Env, limit: u32) -> Result<PromiseRaw<'e, String>> {
        let inner = self.inner.clone();
        task::spawn(
            env,
            move || {
                let mut l = inner.write().unwrap_or_else(|p| p.into_inner());
                Ok(basis_json(l.basis(limit as usize)?))
            },
            std::convert::identity,
        )
    }
    /// For each pair of packed sets: does premise → conclusion follow from the basis?
    #[napi]
    pub fn entails_many(
        &self,
        premise_data: &[u32],
        premise_ends: &[u32],
        conclusion_data: &[u32],
        conclusion_ends: &[u32],
        limit: u32,
    ) -> Result<Uint8Array> {
        self.write(|l| {
            let ps = l.context().unpack_sets("premises", premise_data, premise_ends, true)?;
            let cs = l.context().unpack_sets("conclusions", conclusion_data, conclusion_ends, true)?;
            if ps.len() != cs.len() {
                return Err(OmniErr::invalid_arg("conclusions", format!("expected {} sets like premises, got {}", ps.len(), cs.len())));
            }
            let b = l.basis(limit as usize)?;
            Ok(Uint8Array::new(ps.iter().zip(&cs).map(|(p, c)| u8::from(omnitide_lattice::entails(b, p, c))).collect()))
        })
    }
    /// Association rules (Luxenburger basis) as JSON `[{premise, conclusion, support, confidence}]`.
    #[napi]
    pub fn rules(&self, min_support: f64, min_confidence: f64) -> Result<String> {
        self.read(|l| {
            let r = association_rules(l, min_support, min_confidence);
            Ok(json!(r.iter().map(|r| json!({"premise": r.premise.to_vec(), "conclusion": r.conclusion.to_vec(), "support": r.support, "confidence": r.confidence})).collect::<Vec<_>>()).to_string())
        })
    }
    /// `json`, `dot` or `svg`.
    #[napi]
    pub fn export(&self, format: String) -> Result<String> {
        self.read(|l| match format.as_str() {
            "json" => Ok(export::to_json(l).to_string()),
            "dot" => Ok(export::to_dot(l)),
            "svg" => Ok(export::to_svg(l)),
            f => Err(OmniErr::invalid_arg("format", format!("expected 'json', 'dot' or 'svg', got '{f}'"))),
        })
    }
}

fn basis_json(b: &[omnitide_lattice::Implication]) -> String {
    json!(b
        .iter()
        .map(|i| json!({"premise": i.premise.to_vec(), "conclusion": i.conclusion.to_vec(), "support": i.support}))
        .collect::<Vec<_>>())
    .to_string()
}

fn flat<'a>(lists: impl Iterator<Item = &'a [u32]>) -> (Vec<u32>, Vec<u32>) {
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for l in lists {
        data.extend_from_slice(l);
        ends.push(data.len() as u32);
    }
    (data, ends)
}
