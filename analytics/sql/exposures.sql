-- First exposure of every user to one experiment: the variant they saw first, when, and the context of
-- that exposure (what breakdowns group by). Later exposures, even to another variant, never change it.
-- Parameters: {experiment:String}
SELECT
    user_id,
    argMinMerge(variant) AS exposed_variant,
    min(first_exposed_at) AS first_exposed_at,
    argMinMerge(device) AS exposed_device,
    argMinMerge(platform) AS exposed_platform,
    argMinMerge(country) AS exposed_country,
    argMinMerge(locale) AS exposed_locale,
    argMinMerge(app_version) AS exposed_app_version
FROM reckon.first_exposures
WHERE experiment_key = {experiment:String}
GROUP BY user_id
ORDER BY first_exposed_at, user_id
