//! Runtime values, IP ranges, and the entity store (with its hierarchy closed transitively).
//! JSON forms follow Cedar's: `{"__entity": {"type", "id"}}` and `{"__extn": {"fn": "ip", "arg"}}`.

use crate::ast::Uid;
use omnitide_common::{Error, Result};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|v| *v <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }
    fn bits(&self) -> (u128, u8) {
        match self.addr {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }
    /// The first address of the range as an integer and the family width.
    pub fn network(&self) -> (u128, u8) {
        let (v, w) = self.bits();
        let host = w - self.prefix;
        let mask = if host >= 128 {
            0
        } else {
            !((1u128 << host) - 1)
        };
        (v & mask, w)
    }
    pub fn in_range(&self, other: &IpNet) -> bool {
        let (a, wa) = self.network();
        let (b, wb) = other.network();
        if wa != wb || self.prefix < other.prefix {
            return false;
        }
        let host = wb - other.prefix;
        let mask = if host >= 128 {
            0
        } else {
            !((1u128 << host) - 1)
        };
        a & mask == b
    }
    pub fn to_text(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Bool(bool),
    Long(i64),
    Str(Arc<str>),
    Entity(Arc<Uid>),
    Set(Arc<Vec<Value>>),
    Record(Arc<BTreeMap<String, Value>>),
    Ip(IpNet),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Long(a), Value::Long(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Entity(a), Value::Entity(b)) => a == b,
            (Value::Ip(a), Value::Ip(b)) => a == b,
            (Value::Record(a), Value::Record(b)) => a == b,
            // Sets are unordered and duplicate-free: equal when each contains the other.
            (Value::Set(a), Value::Set(b)) => {
                a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
            }
            _ => false,
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Long(_) => "long",
            Value::Str(_) => "string",
            Value::Entity(_) => "entity",
            Value::Set(_) => "set",
            Value::Record(_) => "record",
            Value::Ip(_) => "ipaddr",
        }
    }

    pub fn from_json(arg: &str, j: &Json, depth: usize) -> Result<Value> {
        if depth > 64 {
            return Err(Error::limit(arg, "value nested deeper than 64 levels"));
        }
        Ok(match j {
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Long(n.as_i64().ok_or_else(|| {
                Error::invalid_arg(
                    arg,
                    format!("{n} is not a 64-bit integer (contracts have no floats)"),
                )
            })?),
            Json::String(s) => Value::Str(Arc::from(s.as_str())),
            Json::Array(a) => {
                let mut v: Vec<Value> = Vec::with_capacity(a.len());
                for (i, x) in a.iter().enumerate() {
                    let e = Value::from_json(&format!("{arg}[{i}]"), x, depth + 1)?;
                    if !v.contains(&e) {
                        v.push(e);
                    }
                }
                Value::Set(Arc::new(v))
            }
            Json::Object(o) => {
                if let Some(e) = o.get("__entity") {
                    return Ok(Value::Entity(Arc::new(uid_from_json(
                        &format!("{arg}.__entity"),
                        e,
                    )?)));
                }
                if let Some(x) = o.get("__extn") {
                    let f = x.get("fn").and_then(|v| v.as_str()).unwrap_or("");
                    let a = x.get("arg").and_then(|v| v.as_str()).unwrap_or("");
                    if f != "ip" && f != "ipaddr" {
                        return Err(Error::invalid_arg(
                            arg,
                            format!("unsupported extension function '{f}' (only ip)"),
                        ));
                    }
                    return Ok(Value::Ip(IpNet::parse(a).ok_or_else(|| {
                        Error::invalid_arg(arg, format!("'{a}' is not an IP address or range"))
                    })?));
                }
                let mut m = BTreeMap::new();
                for (k, v) in o {
                    m.insert(
                        k.clone(),
                        Value::from_json(&format!("{arg}.{k}"), v, depth + 1)?,
                    );
                }
                Value::Record(Arc::new(m))
            }
            Json::Null => return Err(Error::invalid_arg(arg, "null is not a contract value")),
        })
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Bool(b) => Json::Bool(*b),
            Value::Long(n) => Json::from(*n),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Entity(u) => serde_json::json!({"__entity": {"type": u.ty, "id": u.id}}),
            Value::Set(v) => Json::Array(v.iter().map(|x| x.to_json()).collect()),
            Value::Record(m) => {
                Json::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Ip(ip) => serde_json::json!({"__extn": {"fn": "ip", "arg": ip.to_text()}}),
        }
    }
}

pub fn uid_from_json(arg: &str, j: &Json) -> Result<Uid> {
    let o = j
        .as_object()
        .ok_or_else(|| Error::invalid_arg(arg, "an entity reference must be {\"type\", \"id\"}"))?;
    let o = match o.get("__entity").and_then(|e| e.as_object()) {
        Some(inner) => inner,
        None => o,
    };
    let ty = o
        .get("type")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::invalid_arg(arg, "entity reference is missing a string 'type'"))?;
    let id = o
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::invalid_arg(arg, "entity reference is missing a string 'id'"))?;
    if ty.is_empty()
        || !ty.split("::").all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
    {
        return Err(Error::invalid_arg(
            arg,
            format!("'{ty}' is not an entity type name"),
        ));
    }
    Ok(Uid {
        ty: ty.to_string(),
        id: id.to_string(),
    })
}

#[derive(Clone, Debug, Default)]
pub struct EntityData {
    pub attrs: BTreeMap<String, Value>,
    pub parents: Vec<Uid>,
    /// Transitive closure of `parents`.
    pub ancestors: HashSet<Uid>,
}

/// An entity store. The hierarchy must be acyclic; its transitive closure is computed once.
#[derive(Clone, Debug, Default)]
pub struct Entities {
    pub map: HashMap<Uid, EntityData>,
}

pub const MAX_ENTITIES: usize = 1_000_000;

impl Entities {
    pub fn from_json(j: &Json) -> Result<Entities> {
        let arr = j.as_array().ok_or_else(|| {
            Error::invalid_arg("entities", "must be an array of {uid, attrs, parents}")
        })?;
        if arr.len() > MAX_ENTITIES {
            return Err(Error::limit(
                "entities",
                format!("more than {MAX_ENTITIES} entities"),
            ));
        }
        let mut map = HashMap::with_capacity(arr.len());
        for (i, e) in arr.iter().enumerate() {
            let arg = format!("entities[{i}]");
            let uid = uid_from_json(&format!("{arg}.uid"), e.get("uid").unwrap_or(&Json::Null))?;
            let mut d = EntityData::default();
            if let Some(a) = e.get("attrs") {
                let o = a.as_object().ok_or_else(|| {
                    Error::invalid_arg(&format!("{arg}.attrs"), "must be an object")
                })?;
                for (k, v) in o {
                    d.attrs.insert(
                        k.clone(),
                        Value::from_json(&format!("{arg}.attrs.{k}"), v, 0)?,
                    );
                }
            }
            if let Some(p) = e.get("parents") {
                let a = p.as_array().ok_or_else(|| {
                    Error::invalid_arg(&format!("{arg}.parents"), "must be an array")
                })?;
                for (k, x) in a.iter().enumerate() {
                    d.parents
                        .push(uid_from_json(&format!("{arg}.parents[{k}]"), x)?);
                }
            }
            if map.insert(uid.clone(), d).is_some() {
                return Err(Error::invalid_arg(&arg, format!("duplicate entity {uid}")));
            }
        }
        let mut s = Entities { map };
        s.close()?;
        Ok(s)
    }

    /// Computes ancestors (depth-first with an explicit stack) and rejects cycles.
    pub fn close(&mut self) -> Result<()> {
        let keys: Vec<Uid> = self.map.keys().cloned().collect();
        let mut done: HashMap<Uid, HashSet<Uid>> = HashMap::new();
        for k in keys {
            if done.contains_key(&k) {
                continue;
            }
            // iterative post-order walk
            let mut stack: Vec<(Uid, usize)> = vec![(k.clone(), 0)];
            let mut on_path: Vec<Uid> = vec![k.clone()];
            while let Some((u, i)) = stack.pop() {
                let parents = self
                    .map
                    .get(&u)
                    .map(|d| d.parents.clone())
                    .unwrap_or_default();
                if i < parents.len() {
                    stack.push((u.clone(), i + 1));
                    let p = &parents[i];
                    if on_path.contains(p) {
                        let mut cyc: Vec<String> = on_path
                            .iter()
                            .skip_while(|x| *x != p)
                            .map(|x| x.to_string())
                            .collect();
                        cyc.push(p.to_string());
                        return Err(Error::invalid_arg(
                            "entities",
                            format!("cycle in the entity hierarchy: {}", cyc.join(" -> ")),
                        ));
                    }
                    if !done.contains_key(p) {
                        on_path.push(p.clone());
                        stack.push((p.clone(), 0));
                    }
                } else {
                    let mut anc = HashSet::new();
                    for p in &parents {
                        anc.insert(p.clone());
                        if let Some(a) = done.get(p) {
                            anc.extend(a.iter().cloned());
                        }
                    }
                    done.insert(u.clone(), anc);
                    on_path.pop();
                }
            }
        }
        for (k, anc) in done {
            if let Some(d) = self.map.get_mut(&k) {
                d.ancestors = anc;
            }
        }
        Ok(())
    }

    /// Cedar's `in`: equal, or an ancestor in the store.
    pub fn is_in(&self, a: &Uid, b: &Uid) -> bool {
        a == b
            || self
                .map
                .get(a)
                .map(|d| d.ancestors.contains(b))
                .unwrap_or(false)
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub principal: Arc<Uid>,
    pub action: Arc<Uid>,
    pub resource: Arc<Uid>,
    pub context: Arc<BTreeMap<String, Value>>,
}

impl Request {
    pub fn from_json(j: &Json) -> Result<Request> {
        let uid = |k: &str| -> Result<Arc<Uid>> {
            Ok(Arc::new(uid_from_json(
                &format!("request.{k}"),
                j.get(k).unwrap_or(&Json::Null),
            )?))
        };
        let context = match j.get("context") {
            None | Some(Json::Null) => BTreeMap::new(),
            Some(c) => match Value::from_json("request.context", c, 0)? {
                Value::Record(m) => (*m).clone(),
                _ => return Err(Error::invalid_arg("request.context", "must be an object")),
            },
        };
        Ok(Request {
            principal: uid("principal")?,
            action: uid("action")?,
            resource: uid("resource")?,
            context: Arc::new(context),
        })
    }
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "principal": {"type": self.principal.ty, "id": self.principal.id},
            "action": {"type": self.action.ty, "id": self.action.id},
            "resource": {"type": self.resource.ty, "id": self.resource.id},
            "context": Value::Record(self.context.clone()).to_json(),
        })
    }
}
