// Reckon experiments dashboard: plain ES module, no build step, no dependencies. Charts are SVG drawn
// here. Data comes from the experiments API with the read key the user pasted (kept in localStorage);
// every value is inserted as text, never as HTML.
const KEY_STORAGE = "reckon.readKey";
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795"];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (x, digits = 1) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(digits)}%`;
const num = (x) => (Math.abs(x) >= 1000 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(4));
const pValue = (p) => (p < 0.0001 ? "<0.0001" : p.toFixed(4));

async function api(path) {
  const key = localStorage.getItem(KEY_STORAGE) ?? "";
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

async function loadList() {
  const list = $("experiment-list");
  list.replaceChildren();
  try {
    const { experiments } = await api("/v1/experiments");
    $("key-status").textContent = `${experiments.length} experiment(s)`;
    for (const e of experiments) {
      list.append(
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", "data-key": e.key, onclick: () => (location.hash = encodeURIComponent(e.key)) },
            e.definition.name,
            " ",
            el("span", { class: `status ${e.status}` }, e.status),
          ),
        ),
      );
    }
    route();
  } catch (err) {
    $("key-status").textContent = "";
    $("experiment").replaceChildren(
      el("p", { class: "error", role: "alert" }, `Could not list experiments: ${err.message}`),
    );
  }
}

/** The experiment on screen: late answers for an earlier pick are dropped. */
let showing;

async function showExperiment(key) {
  for (const b of document.querySelectorAll("#experiment-list button")) {
    b.setAttribute("aria-current", String(b.dataset.key === key));
  }
  const section = $("experiment");
  section.replaceChildren(el("p", { class: "hint" }, `Loading ${key}…`));
  const shown = (showing = key);
  const resultsUrl = `/v1/experiments/${encodeURIComponent(key)}/results`;
  try {
    // The tables first: the cumulative series recomputes the results once per day, which on a large experiment
    // takes several times longer, so the chart follows in a second request.
    const [experiment, results] = await Promise.all([
      api(`/v1/experiments/${encodeURIComponent(key)}`),
      api(`${resultsUrl}?cumulative=false`),
    ]);
    if (shown !== showing) return; // another experiment was picked meanwhile
    section.replaceChildren(...renderExperiment(experiment, results));
    const overlapSlot = section.querySelector('[data-testid="overlap-slot"]');
    api(`/v1/experiments/${encodeURIComponent(key)}/overlap`)
      .then((overlap) => {
        if (shown === showing && overlapSlot) overlapSlot.replaceChildren(...renderOverlap(overlap));
      })
      .catch(() => overlapSlot?.remove());
    const pending = section.querySelector('[data-testid="cumulative-pending"]');
    if (pending) {
      api(resultsUrl)
        .then((full) => {
          if (shown === showing) pending.replaceWith(renderCumulative(full, chartMetricOf(full)));
        })
        .catch((err) => {
          pending.textContent = `Could not compute the cumulative lift: ${err.message}`;
          pending.setAttribute("class", "error");
        });
    }
  } catch (err) {
    section.replaceChildren(
      el("p", { class: "error", role: "alert" }, `Could not load ${key}: ${err.message}`),
    );
  }
}

function renderExperiment(experiment, results) {
  const out = [
    el(
      "h2",
      {},
      experiment.definition.name,
      el("span", { class: `status ${experiment.status}` }, experiment.status),
    ),
    el(
      "p",
      { class: "hint" },
      `${experiment.key} · version ${experiment.version} · ` +
        `${Object.values(results.users).reduce((a, b) => a + b, 0)} users · ` +
        `${results.sequential ? "sequential" : "fixed-horizon"} tests · correction ${results.correction} · ` +
        `computed ${new Date(results.computed_at).toLocaleString()} ` +
        (results.computed_from === "user_totals" ? "from the per-user totals kept live" : "from the events"),
    ),
    renderSrm(results.srm),
    el("div", { "data-testid": "overlap-slot" }),
    renderSettings(experiment, results),
    el(
      "p",
      {},
      el(
        "a",
        { href: `#${encodeURIComponent(experiment.key)}/power`, "data-testid": "power-link" },
        "Power calculator: minimum detectable effect and the users a planned lift needs →",
      ),
    ),
  ];
  for (const metric of results.metrics) out.push(renderMetric(metric, results));
  if (chartMetricOf(results))
    out.push(
      el(
        "p",
        { class: "hint", "data-testid": "cumulative-pending" },
        "Computing the cumulative lift over time…",
      ),
    );
  return out;
}

/** Other running experiments sharing users with this one, and interactions found on shared metrics. */
function renderOverlap(overlap) {
  return overlap.overlaps.map((o) => {
    const flagged = o.metrics.flatMap((m) =>
      m.interactions
        .filter((i) => i.flagged)
        .map(
          (i) => `${m.key} (${i.variant} × ${i.other_variant}: ${num(i.estimate)}, p = ${pValue(i.p_value)})`,
        ),
    );
    const text =
      `⚠ ${o.users_in_both} users are also in the running experiment ${o.experiment_key}. ` +
      (flagged.length > 0
        ? `Interaction on ${flagged.join("; ")}: this experiment's lift differs with the other's treatment.`
        : "No interaction found on the shared metrics.");
    return el(
      "div",
      {
        class: `srm ${flagged.length > 0 ? "flagged" : "ok"}`,
        "data-testid": "overlap-warning",
        "data-other": o.experiment_key,
        ...(flagged.length > 0 ? { role: "alert" } : {}),
      },
      text,
    );
  });
}

/** The analysis settings the results were computed with, where an analyst checks the plan. */
function renderSettings(experiment, results) {
  const a = results.analysis;
  const margins = experiment.definition.metrics
    .filter((m) => m.non_inferiority_margin !== undefined)
    .map((m) => `${m.key} ${(m.non_inferiority_margin * 100).toFixed(1)}%`);
  const rows = [
    ["α", String(a.alpha)],
    ["test", a.test === "one_sided" ? "one-sided (towards each metric's good direction)" : "two-sided"],
    ["sequential", results.sequential ? `yes, τ = ${a.sequential_tuning}` : "no (fixed horizon)"],
    [
      "Bayesian prior",
      a.prior.enabled ? `normal, mean ${pct(a.prior.mean)}, variance ${a.prior.variance}` : "flat",
    ],
    [
      "correction",
      `${results.correction}, ${{ all: "across all metrics and variants", metric: "per metric", variant: "per variant" }[a.correction_scope]}`,
    ],
    ["non-inferiority margins", margins.length > 0 ? margins.join(", ") : "none"],
  ];
  return el(
    "details",
    { class: "settings", "data-testid": "analysis-settings", open: "" },
    el("summary", {}, "Analysis settings"),
    el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-setting": k }, v)])),
  );
}

/** The power calculator page of one experiment: MDE now, and what a planned lift needs. */
async function showPower(key) {
  const section = $("experiment");
  const shown = (showing = `${key}/power`);
  const form = el(
    "form",
    { id: "power-form", class: "power-form" },
    el("label", { for: "power-target" }, "power "),
    el("input", { id: "power-target", type: "number", min: "0.5", max: "0.99", step: "0.01", value: "0.8" }),
    el("label", { for: "power-effect" }, " planned relative lift "),
    el("input", { id: "power-effect", type: "number", min: "0.001", step: "0.001", value: "0.05" }),
    el("button", { type: "submit" }, "Compute"),
  );
  const output = el("div", { id: "power-output" });
  section.replaceChildren(
    el("h2", {}, `Power calculator · ${key}`),
    el("p", {}, el("a", { href: `#${encodeURIComponent(key)}` }, "← back to the results")),
    form,
    output,
  );
  const compute = async () => {
    output.replaceChildren(el("p", { class: "hint" }, "Computing…"));
    const params = new URLSearchParams({ power: $("power-target").value, effect: $("power-effect").value });
    try {
      const power = await api(`/v1/experiments/${encodeURIComponent(key)}/power?${params}`);
      if (shown !== showing) return;
      output.replaceChildren(...renderPower(power));
    } catch (err) {
      output.replaceChildren(
        el("p", { class: "error", role: "alert" }, `Could not compute power: ${err.message}`),
      );
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void compute();
  });
  await compute();
}

function renderPower(power) {
  const fmt = (x, f) => (x === null ? "—" : f(x));
  const header = [
    "metric",
    "variant",
    "users (control / variant)",
    "baseline",
    "MDE",
    `power at ${pct(power.effect ?? 0)}`,
    "users needed",
    "days to go",
  ];
  const rows = power.metrics.flatMap((m) =>
    m.variants.map((v) =>
      el(
        "tr",
        { "data-metric": m.key, "data-variant": v.variant },
        el("td", {}, m.key, m.guardrail ? el("span", { class: "guardrail" }, "guardrail") : null),
        el("td", {}, v.variant),
        el("td", {}, `${v.users.control} / ${v.users.variant}`),
        el("td", {}, num(v.baseline_mean)),
        el(
          "td",
          { "data-col": "mde" },
          fmt(v.mde, (x) => pct(x)),
        ),
        el(
          "td",
          { "data-col": "power" },
          fmt(v.power_at_effect, (x) => `${(x * 100).toFixed(1)}%`),
        ),
        el(
          "td",
          { "data-col": "users-needed" },
          fmt(v.users_needed, (x) => Math.ceil(x).toString()),
        ),
        el(
          "td",
          { "data-col": "days" },
          fmt(v.days_needed, (x) => x.toFixed(1)),
        ),
      ),
    ),
  );
  return [
    el(
      "p",
      { class: "hint" },
      `${power.users} users over ${power.days_observed.toFixed(1)} days (${power.users_per_day.toFixed(0)} a day) · ` +
        `α ${power.alpha}, ${power.sides === 1 ? "one" : "two"}-sided · target power ${(power.power * 100).toFixed(0)}%`,
    ),
    el(
      "table",
      { "data-testid": "power-table" },
      el("thead", {}, el("tr", {}, ...header.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows),
    ),
    el("p", { class: "hint" }, power.note),
  ];
}

/** The metric the cumulative chart shows: the first non-guardrail one. */
function chartMetricOf(results) {
  return results.metrics.find((m) => !m.guardrail) ?? results.metrics[0];
}

function renderSrm(srm) {
  const split = srm.arms
    .map(
      (a) =>
        `${a.variant} ${a.users} (${(a.observed_share * 100).toFixed(1)}% of ${(a.expected_share * 100).toFixed(0)}%)`,
    )
    .join(" · ");
  if (srm.flagged) {
    return el(
      "div",
      { class: "srm flagged", role: "alert", "data-testid": "srm-warning" },
      `⚠ Sample ratio mismatch (p = ${srm.p_value.toExponential(2)} < ${srm.threshold}): ${split}. ` +
        "Check assignment and exposure logging before trusting these results.",
    );
  }
  return el(
    "div",
    { class: "srm ok", "data-testid": "srm-ok" },
    `Traffic split as configured (SRM p = ${pValue(srm.p_value)}): ${split}`,
  );
}

function renderMetric(metric, results) {
  const rows = [
    el(
      "tr",
      {},
      el("td", { class: "variant" }, `${metric.control.variant} (control)`),
      el("td", {}, metric.control.users),
      el("td", {}, num(metric.control.mean)),
      el("td", {}, "—"),
      el("td", { class: "interval" }),
      el("td", {}, "—"),
      el("td", {}, "—"),
      el("td", {}, "—"),
      el("td", {}, ""),
    ),
  ];
  const bounds = intervalBounds(metric.variants);
  for (const v of metric.variants) {
    const d = v.decision;
    rows.push(
      el(
        "tr",
        { "data-variant": v.variant },
        el("td", { class: "variant" }, v.variant),
        el("td", {}, v.users),
        el("td", {}, num(v.mean)),
        el(
          "td",
          {},
          v.relative.error ? el("span", { class: "error" }, v.relative.error) : pct(v.relative.estimate),
        ),
        el(
          "td",
          { class: "interval" },
          intervalSvg(d.relative_ci, v.relative.estimate, bounds, d.verdict),
          el("small", {}, ` [${pct(d.relative_ci[0])}, ${pct(d.relative_ci[1])}]`),
        ),
        el("td", {}, pValue(d.p_value)),
        el("td", {}, pValue(d.adjusted_p_value)),
        el("td", {}, `${(v.bayesian.chance_to_win * 100).toFixed(1)}%`),
        el("td", { class: d.verdict }, d.verdict),
      ),
    );
  }
  return el(
    "table",
    { "data-metric": metric.key },
    el(
      "caption",
      { style: "text-align:left;font-weight:600;padding:0.3rem 0" },
      `${metric.key} (${metric.type}, ${metric.direction} is better)`,
      metric.guardrail ? el("span", { class: "guardrail" }, "guardrail") : null,
    ),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...[
          "variant",
          "users",
          "mean",
          "relative lift",
          `${(1 - results.alpha) * 100}% interval`,
          "p-value",
          "adjusted p",
          "chance to win",
          "verdict",
        ].map((h) => el("th", {}, h)),
      ),
    ),
    el("tbody", {}, ...rows),
  );
}

function intervalBounds(variants) {
  let lo = 0;
  let hi = 0;
  for (const v of variants) {
    lo = Math.min(lo, v.decision.relative_ci[0]);
    hi = Math.max(hi, v.decision.relative_ci[1]);
  }
  const pad = (hi - lo) * 0.1 || 0.05;
  return [lo - pad, hi + pad];
}

/** A horizontal interval with the point estimate and a zero line, on a scale shared by the metric's rows. */
function intervalSvg(ci, estimate, [lo, hi], verdict) {
  const width = 180;
  const height = 22;
  const x = (v) => ((v - lo) / (hi - lo)) * width;
  const color = verdict === "better" ? "#22753a" : verdict === "worse" ? "#c53030" : "#4a5568";
  const node = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "ci",
    role: "img",
    "aria-label": `interval ${pct(ci[0])} to ${pct(ci[1])}`,
  });
  node.append(
    svg("line", { x1: x(0), x2: x(0), y1: 0, y2: height, stroke: "#a0aec0", "stroke-dasharray": "3 2" }),
    svg("line", {
      x1: x(ci[0]),
      x2: x(ci[1]),
      y1: height / 2,
      y2: height / 2,
      stroke: color,
      "stroke-width": 4,
      "stroke-linecap": "round",
      class: "ci-bar",
    }),
    svg("circle", { cx: x(estimate), cy: height / 2, r: 4, fill: "#fff", stroke: color, "stroke-width": 2 }),
    svg("title", {}, `${pct(ci[0], 2)} … ${pct(ci[1], 2)}`),
  );
  return node;
}

/** Cumulative relative lift per variant over time, with its interval as a band. */
function renderCumulative(results, metric) {
  const points = results.cumulative;
  const figure = el("figure", { "data-testid": "cumulative-chart" });
  figure.append(el("figcaption", {}, `Cumulative relative lift of ${metric.key} vs ${results.control}`));
  if (points.length === 0) {
    figure.append(el("p", { class: "hint" }, "No exposures yet."));
    return figure;
  }
  const width = 720;
  const height = 260;
  const m = { left: 56, right: 16, top: 12, bottom: 32 };
  const variants = Object.keys(points[0].metrics[metric.key] ?? {});
  let lo = 0;
  let hi = 0;
  for (const p of points) {
    for (const v of variants) {
      const s = p.metrics[metric.key][v];
      if (s.error) continue;
      lo = Math.min(lo, s.ci[0]);
      hi = Math.max(hi, s.ci[1]);
    }
  }
  if (hi - lo < 1e-9) hi = lo + 0.1;
  const x = (i) =>
    m.left +
    (points.length === 1
      ? (width - m.left - m.right) / 2
      : (i / (points.length - 1)) * (width - m.left - m.right));
  const y = (v) => m.top + ((hi - v) / (hi - lo)) * (height - m.top - m.bottom);
  const chart = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `cumulative lift of ${metric.key}`,
  });
  chart.append(
    svg("line", {
      x1: m.left,
      x2: width - m.right,
      y1: y(0),
      y2: y(0),
      stroke: "#a0aec0",
      "stroke-dasharray": "4 3",
    }),
  );
  for (const t of [lo, (lo + hi) / 2, hi]) {
    chart.append(
      svg(
        "text",
        { x: m.left - 6, y: y(t) + 4, "text-anchor": "end", "font-size": 11, fill: "#4a5568" },
        pct(t),
      ),
    );
  }
  points.forEach((p, i) => {
    if (points.length <= 12 || i % Math.ceil(points.length / 12) === 0) {
      chart.append(
        svg(
          "text",
          { x: x(i), y: height - 10, "text-anchor": "middle", "font-size": 11, fill: "#4a5568" },
          p.date.slice(5),
        ),
      );
    }
  });
  variants.forEach((variant, k) => {
    const color = COLORS[k % COLORS.length];
    const ok = points.map((p, i) => ({ i, s: p.metrics[metric.key][variant] })).filter((q) => !q.s.error);
    if (ok.length === 0) return;
    const upper = ok.map((q) => `${x(q.i)},${y(q.s.ci[1])}`);
    const lower = ok.map((q) => `${x(q.i)},${y(q.s.ci[0])}`).reverse();
    chart.append(
      svg("polygon", {
        points: [...upper, ...lower].join(" "),
        fill: color,
        "fill-opacity": 0.15,
        stroke: "none",
      }),
    );
    chart.append(
      svg("polyline", {
        points: ok.map((q) => `${x(q.i)},${y(q.s.relative)}`).join(" "),
        fill: "none",
        stroke: color,
        "stroke-width": 2,
        class: "lift-line",
      }),
    );
    for (const q of ok) chart.append(svg("circle", { cx: x(q.i), cy: y(q.s.relative), r: 3, fill: color }));
    chart.append(
      svg(
        "text",
        { x: width - m.right, y: m.top + 12 + 14 * k, "text-anchor": "end", "font-size": 12, fill: color },
        variant,
      ),
    );
  });
  figure.append(chart);
  return figure;
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("api-key").value.trim();
  if (value) localStorage.setItem(KEY_STORAGE, value);
  $("api-key").value = "";
  void loadList();
});
/** `#key` shows an experiment's results, `#key/power` its power calculator. */
function route() {
  if (!location.hash) return;
  const target = location.hash.slice(1);
  if (target.endsWith("/power")) void showPower(decodeURIComponent(target.slice(0, -"/power".length)));
  else void showExperiment(decodeURIComponent(target));
}
window.addEventListener("hashchange", route);
if (localStorage.getItem(KEY_STORAGE)) void loadList();
