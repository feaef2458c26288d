#pragma once
// Staff's CSV export of orders (issue #22): GET /admin/orders/export.csv, one record per order line.
// It streams (http/csv.hpp): each page is read from the database by keyset when the previous one has
// been written, so memory stays flat whatever the size. Its input is checked before the first byte
// goes out, so every bad request is a clean 400. (The catalogue's export is catalog/routes.cpp's.)

#include "http/message.hpp"

namespace common {
class TimeZone;
}
namespace orders {
class Service;
}

namespace admin {

// ?status= (an order status), ?from= and ?to= (days, YYYY-MM-DD, both included, in the shop's time
// zone): the lines of the matching orders, oldest order first.
http::Response export_orders(orders::Service& orders, const common::TimeZone& zone, http::Request& q);

}  // namespace admin
