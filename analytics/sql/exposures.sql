-- First exposure of every user to one experiment: the variant they saw first, when, and the context of
-- that exposure (what breakdowns group by). Later exposures, even to another variant, never change it.
-- Parameters: {experiment:String}
-- Read from the exposure events: argMinArgMin(x, event_id, occurred_at) is the value at the earliest
-- exposure, ties broken by event_id, exactly what reckon.first_exposures keeps as argMin over
-- (occurred_at, event_id), and ~3x cheaper than merging that table's tuple-keyed argMin states.
SELECT
    user_id,
    toString(argMinArgMin(variant, event_id, occurred_at)) AS exposed_variant,
    min(occurred_at) AS first_exposed_at,
    toString(argMinArgMin(device, event_id, occurred_at)) AS exposed_device,
    toString(argMinArgMin(platform, event_id, occurred_at)) AS exposed_platform,
    toString(argMinArgMin(country, event_id, occurred_at)) AS exposed_country,
    toString(argMinArgMin(locale, event_id, occurred_at)) AS exposed_locale,
    toString(argMinArgMin(app_version, event_id, occurred_at)) AS exposed_app_version
FROM reckon.events FINAL
WHERE type = 'exposure' AND experiment_key = {experiment:String}
GROUP BY user_id
ORDER BY first_exposed_at, user_id
