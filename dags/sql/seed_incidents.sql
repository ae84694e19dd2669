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
       '+1' || ['415', '212', '312', '617', '206'][1 + (user_id % 5)] || '55501' || lpad(((user_id // 5) % 100)::VARCHAR, 2, '0') AS phone_number,
       CASE WHEN user_id % 2 = 0 THEN 'recovery' || user_id || '@example.org' END AS recovery_email
FROM users;

-- given for marketing (a newsletter and offers form), with or without consent: collected
-- on its own, so it is generated here without reading the tables above. Every other user
-- signed up with their login email; every eighth also gave the phone they use for 2FA.
CREATE OR REPLACE TABLE marketing_contacts AS
SELECT i AS user_id,
       'user' || i || '@example.com' AS email,
       CASE WHEN i % 8 = 0
            THEN '+1' || ['415', '212', '312', '617', '206'][1 + (i % 5)] || '55501' || lpad(((i // 5) % 100)::VARCHAR, 2, '0')
       END AS phone,
       i % 4 = 0 AS consented
FROM range(2, 401, 2) t(i);
