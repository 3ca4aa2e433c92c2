//! Conversions between Python objects and JSON values.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted from Python (policies and claims are shallow).
const MAX_DEPTH: usize = 64;

/// A JSON value from a Python object: `dict` (string keys), `list`/`tuple`,
/// `str`, `int`, `float`, `bool` and `None`. Anything else is a `TypeError`.
pub fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_at(obj, 0)
}

fn to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err("integer out of the 64-bit range"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity are not JSON"));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!("JSON object keys must be str, not {}", type_name(&k)))
            })?;
            map.insert(key.extract()?, to_json_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(|v| to_json_at(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().map(|v| to_json_at(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    Err(PyTypeError::new_err(format!("{} is not convertible to JSON", type_name(obj))))
}

/// The Python type name of an object, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// A Python object from a JSON value: `dict`, `list`, `str`, `int`,
/// `float`, `bool` or `None`.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(PyString::new(py, k), to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Checks that a token is `str` or `bytes` without copying it.
pub fn check_token(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!("token must be str or bytes, not {}", type_name(obj))))
}

/// A token as given: `str` or `bytes`, copied so it can outlive the call
/// (a batch, an executor job); errors as for [`token_ref`].
pub fn token_bytes(obj: &Bound<'_, PyAny>, limit: usize) -> PyResult<Result<Vec<u8>, jwtgate::Error>> {
    Ok(token_ref(obj, limit)?.map(|bytes| bytes.as_bytes().to_vec()))
}

/// A token as given, for a call that verifies it before returning: `bytes`
/// as it is, `str` encoded once to UTF-8 (no further copy); the bytes stay
/// immutable and alive while the returned object is held, GIL or not. The
/// inner error is `too_large` for a token whose length alone (code points
/// of a `str`, never more than its UTF-8 bytes) exceeds `limit`, found
/// before anything is copied. The core checks the exact byte length.
pub fn token_ref<'py>(
    obj: &Bound<'py, PyAny>,
    limit: usize,
) -> PyResult<Result<Bound<'py, PyBytes>, jwtgate::Error>> {
    check_token(obj)?;
    if obj.len()? > limit {
        return Ok(Err(jwtgate::Error::new(
            jwtgate::ErrorKind::TooLarge,
            format!("token longer than {limit} bytes"),
        )));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Ok(s.encode_utf8()?));
    }
    Ok(Ok(obj.cast::<PyBytes>()?.clone()))
}

/// An optional clock: `None`, or a finite `int`/`float` of unix seconds.
pub fn clock(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    let Some(now) = now.filter(|n| !n.is_none()) else { return Ok(None) };
    if now.is_instance_of::<PyBool>() || !(now.is_instance_of::<PyInt>() || now.is_instance_of::<PyFloat>()) {
        return Err(PyTypeError::new_err(format!("now must be int, float or None, not {}", type_name(now))));
    }
    let value: f64 = now.extract()?;
    if !value.is_finite() {
        return Err(PyValueError::new_err("now must be a finite number of unix seconds"));
    }
    Ok(Some(value))
}
