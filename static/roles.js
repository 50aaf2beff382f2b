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

/** Purchased-service contracts: the city and county bureaus in their region; a provider its own, read-only. */
export function seesContracts(account) {
  return account.role === "city_admin" || account.role === "county_auditor" || managesProvider(account);
}

/** The programme's money and reach (budget, coverage, statements to sign off): the city and county bureaus. */
export function overseesProgramme(account) {
  return account.role === "city_admin" || account.role === "county_auditor";
}

/** Home tiles of the purchased-service programme: [address, title, hint]. */
export function programmeTiles(account) {
  if (overseesProgramme(account)) {
    return [
      ["#/contracts", "购买服务合同", "合同条款、服务项目、变更历史、覆盖和预算执行"],
      ["#/statements", "结算单", "月度结算单的核算、确认、支付和调整"],
      ["#/budget", "预算执行", "按县（区）或合同查看承诺、已交付、已支付金额"],
      ["#/coverage", "覆盖情况", "按月查看各县（区）覆盖、已服务和未服务的对象"],
    ];
  }
  if (seesContracts(account)) return [["#/contracts", "购买服务合同", "本机构签订的合同、服务项目和结算单（只读）"]];
  return [];
}

/** Staff of a care home or the psychiatric hospital: the shift's pages for residents in centralised care. */
export function worksInCareHome(account) {
  return account.role === "care_home_staff";
}

/** The shift's big buttons on a care home's home page: [address, title]. */
export function careHomeActions(account) {
  if (!worksInCareHome(account)) return [];
  return [
    ["#/residents/scan", "扫腕带"],
    ["#/wards/round", "病区查房"],
    ["#/wards/handover", "交班"],
  ];
}

/** Notifications (a serious incident in a care home, …) on the home page: the bureaus. */
export function seesNotifications(account) {
  return isBureau(account);
}
