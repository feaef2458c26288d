-- Until this version a make_payment Idempotency-Key kept a SHA-256 of the whole request body: the
-- card number, its expiry and its CVC. With the brand and last four stored beside it the number is
-- brute-forced from that hash, and PCI DSS forbids keeping the CVC in any form after authorisation.
-- Keys are now told apart by what may be stored (order, amount, brand, last four: payments/routes.cpp),
-- and the old hashes go. A retry under a key forgotten here runs again and meets the order as it now
-- is (409 order_already_paid once it was paid), so nothing can be charged twice.
DELETE FROM idempotency_keys WHERE route = '/store/make_payment/';
