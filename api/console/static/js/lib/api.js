// The GraphQL client: one POST per operation with the session's token.
import { endpoint } from "./config.js";
import { token, signOut } from "./session.js";

// ApiError carries a response's GraphQL errors (or a network failure).
export class ApiError extends Error {
  constructor(errors, status = 0) {
    super(errors.map((e) => e.message).join(" "));
    this.errors = errors;
    this.status = status;
  }
  // code is the first error's extensions.code.
  get code() {
    return (this.errors[0] && this.errors[0].extensions && this.errors[0].extensions.code) || "";
  }
}

// unreachable is the error of a request that got no answer.
export const unreachable = () =>
  new ApiError([{ message: "The server can't be reached. Check your connection and try again.", extensions: { code: "NETWORK" } }]);

// gql runs a query or mutation and returns its data; it throws an ApiError
// when the answer has errors. UNAUTHENTICATED ends the session.
export async function gql(query, variables = {}) {
  let res;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: "Bearer " + token(),
      },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw unreachable();
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError([{ message: `The server answered ${res.status} ${res.statusText}.`, extensions: { code: "HTTP" } }], res.status);
  }
  if (body.errors && body.errors.length) {
    const err = new ApiError(body.errors, res.status);
    if (err.code === "UNAUTHENTICATED") signOut(err.errors[0].message);
    throw err;
  }
  return body.data;
}

// placeErrors decides where each error of err is shown in a form:
//   fieldFor(path) maps an argument path the server names in
//   errors[].extensions.field (input.name, input.products[1].productId) to
//   one of the form's field keys, or returns undefined;
//   single is the form's only field, if it has just one: an input error
//   or conflict that names no field is shown there.
// An error the form has no field for is the form's.
// It returns { fields: { key: message }, form: [messages] }.
export function placeErrors(err, { fieldFor = () => undefined, single = "" } = {}) {
  const out = { fields: {}, form: [] };
  const errors = err instanceof ApiError ? err.errors : [{ message: String((err && err.message) || err) }];
  for (const e of errors) {
    const ext = e.extensions || {};
    const paths = [].concat(ext.field || []);
    let key;
    for (const p of paths) {
      key = fieldFor(p);
      if (key) break;
    }
    if (!key && single && paths.length === 0 && (ext.code === "BAD_USER_INPUT" || ext.code === "CONFLICT")) key = single;
    if (key) out.fields[key] = out.fields[key] ? out.fields[key] + " " + e.message : e.message;
    else out.form.push(e.message);
  }
  return out;
}
