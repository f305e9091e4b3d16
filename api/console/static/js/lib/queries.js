// The GraphQL documents the console sends, in one place.

export const ME = `query Me {
  me { subject tenantId roles user { id displayName userPrincipalName } }
  catalog {
    apps { id displayName }
    products { skuPartNumber displayName servicePlans { id displayName } coverage { app { id } requiredServicePlan { id } } }
  }
}`;

// TENANT is the tenant a session works in: the caller's own, or the one an
// operator opened.
export const TENANT = `query Tenant($t: ID!) { tenant(id: $t) { id name autoClaimEnabled policyLimit } }`;

export const CREATE_TENANT = `mutation CreateTenant($in: CreateTenantInput!) { createTenant(input: $in) { tenant { id name autoClaimEnabled policyLimit } } }`;
export const SET_POLICY_LIMIT = `mutation PolicyLimit($t: ID!, $n: Int!) { setTenantPolicyLimit(tenantId: $t, limit: $n) { id policyLimit } }`;

const PRODUCT = `id displayName skuPartNumber totalLicenses assignedLicenses availableLicenses lowLicenseThreshold apps { id displayName } servicePlans { id name displayName }`;

export const POLICIES = `query Policies($t: ID!) {
  tenant(id: $t) {
    id autoClaimEnabled policyLimit
    policies { id name status autoCreated app { id displayName } primaryProduct { id displayName } availableLicenses }
    productsRunningLow { id displayName availableLicenses lowLicenseThreshold }
  }
}`;

// POLICY_SETTINGS are the settings updateAutoClaimPolicySettings changes: a
// new one is one more name here and one more entry in policy-settings.js.
const POLICY_SETTINGS = `waitlistEnabled approvalRequired releaseSupersededLicenses reclaimInactiveAfterDays`;

const POLICY = `id name status enabled autoCreated version ${POLICY_SETTINGS} availableLicenses claimedLicenses createdAt updatedAt
  app { id displayName }
  products { position isPrimary availableLicenses product { ${PRODUCT} } enabledServicePlans { id } disabledServicePlans { id } }`;

export const POLICY_DETAILS = `query Policy($t: ID!, $p: ID!) {
  tenant(id: $t) { id products { ${PRODUCT} } policy(id: $p) { ${POLICY} } }
}`;

export const PRODUCTS = `query Products($t: ID!) { tenant(id: $t) { id policyLimit policies { id app { id } } products { ${PRODUCT} } } }`;

export const SET_ORG = `mutation SetOrg($t: ID!, $on: Boolean!) { setAutoClaimEnabled(tenantId: $t, enabled: $on) { id autoClaimEnabled } }`;

export const CREATE_POLICY = `mutation Create($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { ${POLICY} } }`;
export const RENAME = `mutation Rename($p: ID!, $name: String!) { renameAutoClaimPolicy(policyId: $p, name: $name) { ${POLICY} } }`;
export const SET_POLICY_ON = `mutation SetOn($p: ID!, $on: Boolean!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: $on) { ${POLICY} } }`;
export const ADD_BACKUP = `mutation AddBackup($p: ID!, $x: ID!) { addBackupProduct(policyId: $p, productId: $x) { ${POLICY} } }`;
export const REMOVE_PRODUCT = `mutation RemoveProduct($p: ID!, $x: ID!) { removePolicyProduct(policyId: $p, productId: $x) { ${POLICY} } }`;
export const MOVE_PRODUCT = `mutation Move($p: ID!, $x: ID!, $d: Direction!) { movePolicyProduct(policyId: $p, productId: $x, direction: $d) { ${POLICY} } }`;
export const SET_PLANS = `mutation Plans($p: ID!, $x: ID, $off: [ID!]!) { setPolicyServicePlans(policyId: $p, productId: $x, disabledServicePlanIds: $off) { ${POLICY} } }`;
export const UPDATE_SETTINGS = `mutation Settings($in: UpdateAutoClaimPolicySettingsInput!) { updateAutoClaimPolicySettings(input: $in) { ${POLICY} } }`;
export const DELETE_POLICY = `mutation Delete($p: ID!) { deleteAutoClaimPolicy(policyId: $p) { deletedPolicyId } }`;

// WAITLIST is a page of the users waiting for a license under a policy.
export const WAITLIST = `query Waitlist($t: ID!, $p: ID!, $first: Int!, $after: String) {
  tenant(id: $t) {
    id
    policy(id: $p) {
      id waitlistEnabled
      waitlist(first: $first, after: $after) {
        totalCount
        nodes { userId position trigger queuedAt user { displayName userPrincipalName } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

export const REMOVE_FROM_WAITLIST = `mutation Unqueue($p: ID!, $u: ID!) { removeFromWaitlist(policyId: $p, userId: $u) { id } }`;

// INACTIVE is the dry run of a reclaim: a page of the licenses claimed under
// a policy and unused for days days, the longest unused first.
export const INACTIVE = `query Inactive($t: ID!, $p: ID!, $days: Int!, $first: Int!, $after: String) {
  tenant(id: $t) {
    id
    policy(id: $p) {
      id
      inactiveLicenses(days: $days, first: $first, after: $after) {
        totalCount
        nodes { userId assignedAt lastUsedAt user { displayName userPrincipalName } product { id displayName } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

export const RECLAIM = `mutation Reclaim($p: ID!, $days: Int!) { reclaimInactiveLicenses(policyId: $p, days: $days) }`;

// REQUEST is a license request as the Requests screen shows it: who asked,
// for what, when, and how it was decided.
const REQUEST = `id userId trigger requestedAt status decidedAt message outcome reason
  user { displayName userPrincipalName }
  app { id displayName }
  policy { id name }
  decidedBy { subject roles }
  license { product { id displayName } }`;

// LICENSE_REQUESTS is a page of the tenant's license requests, oldest first;
// $s null for every status.
export const LICENSE_REQUESTS = `query Requests($t: ID!, $s: LicenseRequestStatus, $first: Int!, $after: String) {
  tenant(id: $t) {
    id
    licenseRequests(status: $s, first: $first, after: $after) {
      totalCount
      nodes { ${REQUEST} }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const LICENSE_REQUEST = `query Request($t: ID!, $r: ID!) { tenant(id: $t) { id licenseRequest(id: $r) { ${REQUEST} } } }`;
export const PENDING_COUNT = `query Pending($t: ID!) { tenant(id: $t) { id licenseRequests(status: PENDING, first: 0) { totalCount } } }`;
export const APPROVE_REQUEST = `mutation Approve($r: ID!) { approveLicenseRequest(requestId: $r) { ${REQUEST} } }`;
export const DENY_REQUEST = `mutation Deny($r: ID!, $m: String) { denyLicenseRequest(requestId: $r, message: $m) { ${REQUEST} } }`;

// CLAIM_ROW is one claim of a report: who, when, which product, on which trigger.
const CLAIM_ROW = `userId claimedAt productId trigger product { displayName } user { displayName userPrincipalName }`;

export const REPORT = `query Report($t: ID!, $days: Int!, $first: Int!) {
  tenant(id: $t) {
    id
    autoClaimReport(days: $days) {
      days since until totalClaims
      denials { reason count }
      policies {
        policyName deleted
        policy { id status waitlistEnabled reclaimInactiveAfterDays app { displayName } }
        claims waitlistFills reclaimed
        denials { reason count }
        products { product { id displayName } claims }
        daily { date claims denied waitlistFills reclaimed }
        claimedUsers(first: $first) {
          totalCount
          nodes { ${CLAIM_ROW} }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
}`;

export const CLAIMED_USERS = `query ClaimedUsers($t: ID!, $days: Int!, $first: Int!, $after: String) {
  tenant(id: $t) {
    id
    autoClaimReport(days: $days) {
      policies {
        policy { id }
        claimedUsers(first: $first, after: $after) {
          totalCount
          nodes { ${CLAIM_ROW} }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
}`;

export const CLAIM_EVENTS = `subscription Live($t: ID!, $after: String) {
  claimEvents(tenantId: $t, after: $after) {
    id at outcome reason trigger availableAfter userId requestId
    user { displayName userPrincipalName }
    app { displayName }
    product { displayName }
    policy { name }
  }
}`;

export const POLICY_EVENTS = `subscription Changes($t: ID!, $after: String) {
  policyEvents(tenantId: $t, after: $after) {
    id kind at enabled policyId userId productId totalLicenses assignedLicenses lowLicenseThreshold
    policy { name }
    product { displayName }
    actor { subject roles }
    request { outcome reason message user { displayName } license { product { displayName } } }
  }
}`;

export const AUDIT_LOG = `query AuditLog($t: ID!, $first: Int!, $after: String, $since: Time, $action: String) {
  tenant(id: $t) {
    id
    products { id displayName }
    policies { id name }
    auditLog(first: $first, after: $after, since: $since, action: $action) {
      totalCount
      nodes { id at action targetIds actor { subject roles } changes { field before after } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const ADD_PRODUCT = `mutation AddProduct($in: AddProductInput!) { addProduct(input: $in) { id displayName totalLicenses } }`;
export const CREATE_USER = `mutation CreateUser($in: CreateUserInput!) { createUser(input: $in) { id displayName userPrincipalName } }`;

export const SET_QUANTITY = `mutation Quantity($x: ID!, $n: Int!) { setLicenseQuantity(productId: $x, quantity: $n) { ${PRODUCT} } }`;
export const SET_THRESHOLD = `mutation Threshold($x: ID!, $n: Int!) { setLowLicenseThreshold(productId: $x, threshold: $n) { ${PRODUCT} } }`;

// HOLDINGS are a user's licenses, as the live feed reads them to name the
// license that superseded another.
export const HOLDINGS = `query Holdings($t: ID!, $u: ID!) {
  tenant(id: $t) { id user(id: $u) { id displayName licenses { source assignedAt product { id displayName } policy { id } } } }
}`;

const USER = `id displayName userPrincipalName licenses { source assignedAt product { id displayName } policy { id name } }`;

export const USERS = `query Users($t: ID!, $first: Int!, $after: String) {
  tenant(id: $t) {
    id
    products { id displayName availableLicenses }
    users(first: $first, after: $after) { totalCount nodes { ${USER} } pageInfo { hasNextPage endCursor } }
  }
}`;

export const ASSIGN = `mutation Assign($in: AssignLicenseInput!) { assignLicense(input: $in) { ${USER} } }`;
export const UNASSIGN = `mutation Unassign($u: ID!, $x: ID!) { removeLicense(userId: $u, productId: $x) { ${USER} } }`;
