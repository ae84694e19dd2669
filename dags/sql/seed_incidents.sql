-- Synthetic, realistic data for the incident examples. Phone numbers are fictional
-- (NANP 555-01XX), emails use reserved example domains.
CREATE OR REPLACE TABLE users AS
SELECT i AS user_id,
       'user' || i || '@example.com' AS login_email,
       i % 3 = 0 AS discoverable_by_phone,
       DATE '2024-01-01' + (i % 600)::INTEGER AS signed_up_on
FROM range(1, 401) t(i);

-- collected ONLY to secure accounts: two-factor phones and recovery emails
CREATE OR REPLACE TABLE users_2fa AS
SELECT user_id,
       '+1' || ['415', '212', '312', '617', '206'][1 + (user_id % 5)] || '5550' || lpad(((user_id // 5) % 100)::VARCHAR, 2, '0') AS phone_number,
       CASE WHEN user_id % 2 = 0 THEN 'recovery' || user_id || '@example.org' END AS recovery_email
FROM users;

-- given for marketing, with or without consent; some users gave their 2FA phone here too
CREATE OR REPLACE TABLE marketing_contacts AS
SELECT u.user_id,
       u.login_email AS email,
       CASE WHEN u.user_id % 8 = 0 THEN t.phone_number END AS phone,
       u.user_id % 4 = 0 AS consented
FROM users u JOIN users_2fa t USING (user_id)
WHERE u.user_id % 2 = 0;

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
