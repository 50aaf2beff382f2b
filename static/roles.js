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

/** Findings of the standard agreement: the bureaus in their region, a provider those against it (to explain). */
export function seesFindings(account) {
  return isBureau(account) || managesProvider(account);
}

/** Home tiles of the standard agreement's enforcement: [address, title, hint]. */
export function agreementTiles(account) {
  if (isBureau(account)) return [["#/findings", "违约发现", "按服务协议核查出的未履约情况：证据、机构说明和审核"]];
  if (managesProvider(account)) return [["#/findings", "违约发现", "本机构被核查出的未履约情况，逐条说明原因"]];
  return [];
}

/** The county audit (dashboard, scorecards, monthly report): the bureaus, each in its own region. */
export function auditsProviders(account) {
  return isBureau(account);
}

/** Home tiles of the county audit: [address, title, hint]; a provider's manager sees its own scorecard. */
export function oversightTiles(account) {
  if (auditsProviders(account)) {
    return [
      ["#/oversight", "审核看板", "覆盖率、电子核验率、按时率、违约发现和趋势，一目了然"],
      ["#/scorecards", "服务机构评分", "各服务机构的得分排名，以及拉低得分的指标"],
    ];
  }
  if (managesProvider(account) && account.organisation_id) {
    return [[`#/scorecards/${account.organisation_id}`, "本机构评分卡", "本机构逐月的覆盖率、核验率、按时率和得分"]];
  }
  return [];
}

/** Audit samples (call-backs and re-visits of verified visits): the city and the county bureaus. */
export function drawsSamples(account) {
  return account.role === "city_admin" || account.role === "county_auditor";
}

/** Home tiles of the audit samples: [address, title, hint]. */
export function samplingTiles(account) {
  return drawsSamples(account) ? [["#/sampling", "抽查回访", "随机抽取已核验的服务记录，电话回访或入户复核，记录核实结果"]] : [];
}

/** Evidence bundles (one ZIP of visits, photos, findings, agreements): the city and county bureaus, a provider of its own visits. */
export function makesEvidenceBundles(account) {
  return drawsSamples(account) || managesProvider(account);
}
