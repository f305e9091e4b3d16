// What the policy screens share: which products may serve an app, and which
// service plan an app needs from each product.

// productsForApp lists the tenant's products that serve an app.
export const productsForApp = (products, appId) => products.filter((p) => p.apps.some((a) => a.id === appId));

// requiredPlans maps a product's id to the service plan the app needs from it
// (a policy can't turn that plan off), from the catalog's coverage.
export function requiredPlans(catalog, products, appId) {
  const out = {};
  for (const p of products) {
    const c = catalog.products.find((cp) => cp.skuPartNumber === p.skuPartNumber);
    const cov = c && c.coverage.find((x) => x.app.id === appId);
    if (cov) out[p.id] = cov.requiredServicePlan.id;
  }
  return out;
}

// allPlans is the union of several products' service plans, by id.
export function allPlans(products) {
  const seen = new Map();
  for (const p of products) for (const s of p.servicePlans) if (!seen.has(s.id)) seen.set(s.id, s);
  return [...seen.values()];
}
