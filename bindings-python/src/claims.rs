//! A Python object straight from JSON text: the claims dict of a verified
//! token built in one pass over the payload the core already validated,
//! without an intermediate `serde_json::Value`.

use std::fmt;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Claim names most tokens carry: their dict keys are made once per
/// process and shared, not allocated per token.
const COMMON_NAMES: [&str; 12] =
    ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "azp", "client_id", "roles", "tenant"];

fn key<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    static NAMES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
    if let Some(i) = COMMON_NAMES.iter().position(|n| *n == name) {
        let names =
            NAMES.get_or_init(py, || COMMON_NAMES.iter().map(|n| PyString::intern(py, n).unbind()).collect());
        return names[i].bind(py).clone();
    }
    PyString::new(py, name)
}

/// The Python value (`dict`, `list`, `str`, `int`, `float`, `bool`,
/// `None`) of JSON text; object members in name order, as `to_py` gives
/// them from a `serde_json::Value`.
pub fn from_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut failure = None;
    let value = Build { py, failure: &mut failure }.deserialize(&mut de);
    match (value, failure) {
        (_, Some(err)) => Err(err),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(pyo3::exceptions::PyValueError::new_err(e.to_string())),
    }
}

struct Build<'a, 'py> {
    py: Python<'py>,
    /// The Python error that stopped the build (serde errors carry text only).
    failure: &'a mut Option<PyErr>,
}

impl<'py> Build<'_, 'py> {
    fn fail<E: de::Error>(&mut self, err: PyErr) -> E {
        let e = E::custom(err.to_string());
        *self.failure = Some(err);
        e
    }

    fn child(&mut self) -> Build<'_, 'py> {
        Build { py: self.py, failure: self.failure }
    }
}

impl<'de, 'py> DeserializeSeed<'de> for Build<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for Build<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        let Ok(i) = v.into_pyobject(self.py);
        Ok(i.into_any())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        let Ok(i) = v.into_pyobject(self.py);
        Ok(i.into_any())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.py, v).into_any())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self.child())? {
            if let Err(e) = list.append(item) {
                return Err(self.fail(e));
            }
        }
        Ok(list.into_any())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        // Members in name order, as a BTreeMap (serde_json's `Map`) gave
        // them before; the later of two equal names wins, as there.
        // Room for a typical token's claims up front: growing the list cost
        // more than the sort.
        let mut members: Vec<(Name<'de>, Bound<'py, PyAny>)> = Vec::with_capacity(16);
        while let Some(name) = map.next_key_seed(NameSeed)? {
            let value = map.next_value_seed(self.child())?;
            members.push((name, value));
        }
        members.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let dict = PyDict::new(self.py);
        for (name, value) in members {
            if let Err(e) = dict.set_item(key(self.py, name.as_str()), value) {
                return Err(self.fail(e));
            }
        }
        Ok(dict.into_any())
    }
}

/// A member name, borrowed from the text unless it had escapes.
enum Name<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Borrowed(s) => s,
            Name::Owned(s) => s,
        }
    }
}

struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Name<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Name::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Name::Owned(v.to_owned()))
    }
}
