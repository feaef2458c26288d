#pragma once
// The staff handlers of /admin/webhooks/ (docs/contract.md, "Webhooks"), registered by admin/routes.cpp's
// table: endpoints (create, list, show, change, delete, rotate the secret, send a test) and their
// deliveries (list, redeliver).

#include "http/message.hpp"

namespace webhooks {

class Service;

http::Response create_endpoint(Service& service, http::Request& request);
http::Response list_endpoints(Service& service, http::Request& request);
http::Response show_endpoint(Service& service, http::Request& request);
http::Response update_endpoint(Service& service, http::Request& request);
http::Response delete_endpoint(Service& service, http::Request& request);
http::Response rotate_secret(Service& service, http::Request& request);
http::Response send_test(Service& service, http::Request& request);
http::Response list_deliveries(Service& service, http::Request& request);
http::Response redeliver(Service& service, http::Request& request);

}  // namespace webhooks
