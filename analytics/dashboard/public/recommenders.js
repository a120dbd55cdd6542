// Reckon recommenders page: CTR@k, conversion and revenue per model version, candidate source and experiment
// variant (GET /v1/recommenders/metrics), and a recommendation experiment's verdict
// (GET /v1/recommenders/experiments/:key/metrics). Plain ES module, no build step; values are inserted as text.
const KEY_STORAGE = "reckon.readKey";
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const rate = (x) => `${(x * 100).toFixed(2)}%`;
const money = (x) => x.toFixed(2);
const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
const pValue = (p) => (p < 0.0001 ? "<0.0001" : p.toFixed(4));
const DIMENSIONS = [
  ["all", "All served lists"],
  ["model_version", "Per model version"],
  ["source", "Per candidate source"],
];

async function api(path) {
  const key = localStorage.getItem(KEY_STORAGE) ?? "";
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

/** The window's query string from the form (empty fields: the API's defaults). */
function query() {
  const params = new URLSearchParams();
  const from = $("from").value;
  const to = $("to").value;
  if (from) params.set("from", new Date(from).toISOString());
  if (to) params.set("to", new Date(to).toISOString());
  params.set("k", $("k").value || "10");
  return params.toString();
}

function metricCell(estimate, format, name) {
  return el(
    "td",
    { "data-col": name },
    format(estimate.value),
    el("small", {}, ` [${format(estimate.ci[0])}, ${format(estimate.ci[1])}]`),
  );
}

function groupTable(title, dimension, groups, k) {
  const header = [
    "group",
    "users",
    "lists",
    `shown@${k}`,
    `clicks@${k}`,
    `CTR@${k}`,
    "conversions",
    "conversion rate",
    "revenue",
    "revenue / item shown",
    "attributed (id / window)",
  ];
  return el(
    "table",
    { "data-dimension": dimension },
    el("caption", {}, title),
    el("tr", {}, ...header.map((h) => el("th", {}, h))),
    ...groups.map((g) =>
      el(
        "tr",
        { "data-value": g.value },
        el("td", { "data-col": "group" }, g.value),
        el("td", { "data-col": "users" }, g.users),
        el("td", { "data-col": "lists" }, g.recommendations),
        el("td", { "data-col": "shown-k" }, g.impressions_at_k),
        el("td", { "data-col": "clicks-k" }, g.clicks_at_k),
        metricCell(g.metrics.ctr_at_k, rate, "ctr"),
        el("td", { "data-col": "conversions" }, g.conversions),
        metricCell(g.metrics.conversion_rate, rate, "conversion-rate"),
        el("td", { "data-col": "revenue" }, money(g.revenue)),
        metricCell(g.metrics.revenue_per_impression, money, "revenue-per-item"),
        el("td", { "data-col": "attribution" }, `${g.attributions.explicit} / ${g.attributions.window}`),
      ),
    ),
  );
}

async function showGroups() {
  const section = $("groups");
  section.replaceChildren(el("p", { class: "hint" }, "Loading…"));
  try {
    const body = await api(`/v1/recommenders/metrics?${query()}`);
    $("key-status").textContent = "key accepted";
    $("window-hint").textContent =
      `Lists served ${body.from} – ${body.to}; interactions without recommendation_id are attributed within ` +
      `${body.window_minutes} min; clicks: ${body.click_types.join(", ")}; conversions: ${body.conversion_types.join(", ")}.`;
    const tables = [];
    for (const [dimension, title] of DIMENSIONS) {
      const groups = body.groups.filter((g) => g.dimension === dimension);
      if (groups.length > 0) tables.push(groupTable(title, dimension, groups, body.k));
    }
    const experiments = [
      ...new Set(body.groups.map((g) => g.dimension).filter((d) => d.startsWith("experiment:"))),
    ];
    for (const dimension of experiments) {
      const groups = body.groups.filter((g) => g.dimension === dimension);
      tables.push(
        groupTable(`Per variant of ${dimension.slice("experiment:".length)}`, dimension, groups, body.k),
      );
    }
    section.replaceChildren(
      ...(tables.length > 0
        ? tables
        : [el("p", { class: "hint" }, "No recommendation served in this window.")]),
    );
  } catch (err) {
    section.replaceChildren(
      el("p", { class: "error", role: "alert" }, `Could not load metrics: ${err.message}`),
    );
  }
}

async function showVerdict() {
  const section = $("verdict");
  const key = $("experiment-key").value.trim();
  if (!key) return void section.replaceChildren();
  section.replaceChildren(el("p", { class: "hint" }, `Loading ${key}…`));
  try {
    const body = await api(`/v1/recommenders/experiments/${encodeURIComponent(key)}/metrics?${query()}`);
    const { verdict } = body;
    const headline = verdict.winner
      ? `Verdict: adopt ${verdict.winner}`
      : `Verdict: no winner (${verdict.variants.map((v) => `${v.variant}: ${v.verdict}`).join(", ")})`;
    section.replaceChildren(
      el("h2", {}, `Recommendation experiment ${body.experiment} (${body.status})`),
      el("p", { "data-testid": "recommender-verdict", class: "verdict" }, headline),
      el(
        "table",
        { "data-testid": "verdict-table" },
        el("caption", {}, `Each variant against ${verdict.control} (relative lift, Holm-corrected p)`),
        el(
          "tr",
          {},
          ...["variant", "metric", "lift", "interval", "p", "adjusted p", "result"].map((h) =>
            el("th", {}, h),
          ),
        ),
        ...verdict.variants.flatMap((v) =>
          v.comparisons.map((c) =>
            el(
              "tr",
              { "data-variant": v.variant, "data-metric": c.metric },
              el("td", {}, v.variant),
              el("td", {}, c.metric),
              el("td", { "data-col": "lift" }, pct(c.lift)),
              el("td", {}, `[${pct(c.ci[0])}, ${pct(c.ci[1])}]`),
              el("td", {}, pValue(c.p_value)),
              el("td", {}, pValue(c.adjusted_p_value)),
              el("td", { "data-col": "verdict" }, c.verdict),
            ),
          ),
        ),
      ),
      groupTable(`Per variant of ${body.experiment}`, `verdict:${body.experiment}`, body.groups, body.k),
    );
  } catch (err) {
    section.replaceChildren(
      el("p", { class: "error", role: "alert" }, `Could not load ${key}: ${err.message}`),
    );
  }
}

function show() {
  void showGroups();
  void showVerdict();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, $("api-key").value);
  show();
});
$("window-form").addEventListener("submit", (event) => {
  event.preventDefault();
  show();
});
const params = new URLSearchParams(location.hash.slice(1));
if (params.get("experiment")) $("experiment-key").value = params.get("experiment");
if (localStorage.getItem(KEY_STORAGE)) show();
