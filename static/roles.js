// What each role is offered on screen. The server decides what each role may actually do;
// this only keeps the menus honest about it.

const BUREAU_ROLES = new Set(["city_admin", "county_auditor", "township_officer"]);
const CARE_PROVIDER_ROLES = new Set(["provider_manager", "field_worker"]);

/** Bureaus and township offices see every household in their region and may import. */
export function isBureau(account) {
  return BUREAU_ROLES.has(account.role);
}

/** Providers and their workers see the households assigned to them. */
export function caresForHouseholds(account) {
  return CARE_PROVIDER_ROLES.has(account.role);
}

export function seesHouseholds(account) {
  return isBureau(account) || caresForHouseholds(account);
}

export function householdListTitle(account) {
  return caresForHouseholds(account) ? "我负责的户" : "分散供养户";
}

/** A social worker or caregiver: the phone app of visits is their home page. */
export function isFieldWorker(account) {
  return account.role === "field_worker";
}

/** A provider's manager: its staff, assignments, and the approval of manual entries. */
export function managesProvider(account) {
  return account.role === "provider_manager";
}

/** Supervisors read visits with their flags and photos: the provider's manager, the bureaus (read-only). */
export function seesVisits(account) {
  return isBureau(account) || managesProvider(account);
}

/** Door cards are issued, reissued and printed by the bureaus and township offices. */
export function issuesCards(account) {
  return isBureau(account);
}
