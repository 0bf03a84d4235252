// The gateway's view of an HTTP exchange, independent of the HTTP library: the API handlers and
// the access checks are functions of an HttpRequest, so that they are unit-tested without a
// socket. server.cc converts to and from cpp-httplib's types.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace spawn::gateway {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // without the query
  std::map<std::string, std::string> params;   // query parameters
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // multipart/form-data parts by field name (their contents), when the body was one.
  std::map<std::string, std::string> parts;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Set-Cookie, ...)
};

// {"Code": status, "Message": message} with that status.
HttpResponse ErrorResponse(int status, const std::string& message);

}  // namespace spawn::gateway
