#pragma once
// The staff handlers of the email outbox, registered by admin/routes.cpp's table of the /admin API.

#include "http/message.hpp"

namespace notify {
class Service;
// GET /admin/emails/?status=pending|sending|sent|failed (paginated, newest first).
http::Response list_outbox(Service& service, http::Request& request);
// POST /admin/emails/{id}/resend/.
http::Response resend_email(Service& service, http::Request& request);
// GET /admin/emails/{id}/preview/: the message rendered with the current templates, as the worker
// would send it now.
http::Response preview_email(Service& service, http::Request& request);
}  // namespace notify
