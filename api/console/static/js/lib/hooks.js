// Hooks shared by the screens.
import { useState, useEffect, useCallback, useRef } from "./preact.js";
import { gql, placeErrors } from "./api.js";

// useQuery runs a query when its variables change. It returns
// { data, error, loading, reload }; reload runs it again and keeps the old
// data on screen meanwhile.
export function useQuery(query, variables) {
  const key = JSON.stringify(variables || {});
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    return gql(query, JSON.parse(key)).then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && setState((s) => ({ data: s.data, error, loading: false }))
    );
  }, [query, key]);
  useEffect(() => {
    load();
  }, [load]);
  return { ...state, reload: load };
}

// useAction wraps a mutation for a button or form: run(...) sets busy while
// it runs and keeps its error; it resolves to the result, or undefined when
// it failed.
export function useAction(fn) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (...args) => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

// useForm runs a form's mutation. submit(event) first checks the fields
// with check() (field → message; empty when all is well), then calls run();
// the server's errors go to their fields through fieldFor (as placeErrors
// does), or where place(error) says ({ fields, form }). It resolves to
// run's result, or undefined when it failed.
export function useForm({ check = () => ({}), run, fieldFor, single, place }) {
  const none = { fields: {}, form: [] };
  const [errors, setErrors] = useState(none);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    if (e) e.preventDefault();
    const fields = check();
    if (Object.keys(fields).length) {
      setErrors({ fields, form: [] });
      return undefined;
    }
    setBusy(true);
    setErrors(none);
    try {
      return await run();
    } catch (err) {
      setErrors(place ? place(err) : placeErrors(err, { fieldFor, single }));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { errors, busy, submit, reset: () => setErrors(none) };
}
