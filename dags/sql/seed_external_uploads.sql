-- Data that arrives from OUTSIDE the warehouse's pipelines (an advertiser's upload, a
-- partner's file). It is loaded with a plain SQL operator, so no lineage ties it to our
-- tables: the examples synthesise it from the same fictional numbers to make matches happen.
-- an advertiser's upload: sha256 of E.164 phones and md5 of emails, some of them ours
CREATE OR REPLACE TABLE advertiser_uploads AS
SELECT 'acme' AS advertiser, 100 + (user_id % 3) AS campaign_id, sha256(phone_number) AS phone_sha256,
       NULL::VARCHAR AS email_md5
FROM users_2fa WHERE user_id % 6 IN (0, 1)
UNION ALL
SELECT 'acme', 103, NULL, md5(login_email) FROM users WHERE user_id % 5 = 0
UNION ALL
SELECT 'acme', 104, sha256('+1202555' || lpad(i::VARCHAR, 4, '0')), NULL FROM range(0, 60) t(i);

-- third-party data keyed by phone numbers in national format
CREATE OR REPLACE TABLE partner_data AS
SELECT '(' || substr(phone_number, 3, 3) || ') ' || substr(phone_number, 6, 3) || '-' || substr(phone_number, 9, 4)
         AS phone,
       ['travel', 'fitness', 'gaming', 'finance'][1 + (user_id % 4)] AS interest
FROM users_2fa WHERE user_id % 4 IN (0, 1);
