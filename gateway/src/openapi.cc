// The OpenAPI 3 description of the gateway's API (api.h), served at /api/v1/openapi.json.
#include <nlohmann/json.hpp>

#include "spawn/gateway/api.h"

namespace spawn::gateway {
namespace {

constexpr const char* kOpenApi = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "spawnpoint gateway",
    "version": "1",
    "description": "The fleet under one base path, from spawnctl serve. Spawnpoint paths contain '/', so they travel as the query parameter 'spawnpoint'. With --token-file every request needs 'Authorization: Bearer <token>' or the session cookie from POST /login. Errors are {Code, Message}; a spawnpoint's refusal is {RequestId, Ok: false, Code, Message} with its code as the HTTP status."
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer"},
      "session": {"type": "apiKey", "in": "cookie", "name": "spawnpoint_session"}
    },
    "parameters": {
      "spawnpoint": {"name": "spawnpoint", "in": "query", "required": true, "schema": {"type": "string"}, "description": "the spawnpoint's path"},
      "name": {"name": "name", "in": "query", "required": true, "schema": {"type": "string"}, "description": "the service's name"}
    },
    "schemas": {
      "Error": {"type": "object", "properties": {"Code": {"type": "integer"}, "Message": {"type": "string"}}},
      "Reply": {"type": "object", "properties": {"RequestId": {"type": "string"}, "Ok": {"type": "boolean"}, "Code": {"type": "integer"}, "Message": {"type": "string"}}},
      "Service": {"type": "object", "description": "a service heartbeat as spawnctl --json shows it", "properties": {
        "SpawnpointURI": {"type": "string"}, "Name": {"type": "string"}, "Time": {"type": "integer", "description": "unix ns"},
        "State": {"type": "string", "enum": ["building", "starting", "running", "exited", "restarting", "zombie"]},
        "ContainerId": {"type": "string"}, "MemAlloc": {"type": "integer", "description": "MiB"}, "CpuShares": {"type": "integer"},
        "MemUsage": {"type": "number", "description": "MiB"}, "CpuPercent": {"type": "number"},
        "NetworkRx": {"type": "number", "description": "MB"}, "NetworkTx": {"type": "number"}, "MbRead": {"type": "number"}, "MbWritten": {"type": "number"},
        "Restarts": {"type": "integer"}, "ExitCode": {"type": "integer"}, "Backoff": {"type": "string"}, "Health": {"type": "string"}, "HealthOutput": {"type": "string"},
        "OriginalConfig": {"type": "string", "description": "the deploy.yml"},
        "History": {"type": "array", "description": "[unix ms, CPU percent, MiB used] samples, oldest first", "items": {"type": "array", "items": {"type": "number"}}}}},
      "Spawnpoint": {"type": "object", "description": "as spawnctl scan --json shows it", "properties": {
        "Path": {"type": "string"}, "Alias": {"type": "string"}, "Time": {"type": "integer"}, "Version": {"type": "string"},
        "Online": {"type": "boolean"}, "Down": {"type": "boolean"}, "TotalMem": {"type": "integer"}, "TotalCpuShares": {"type": "integer"},
        "AvailableMem": {"type": "integer"}, "AvailableCpuShares": {"type": "integer"},
        "Services": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Service"}},
        "Metadata": {"type": "object", "additionalProperties": {"type": "string"}}, "Warnings": {"type": "array", "items": {"type": "string"}}}},
      "Log": {"type": "object", "properties": {"Time": {"type": "integer"}, "SPAlias": {"type": "string"}, "Service": {"type": "string"}, "Stream": {"type": "string"}, "Contents": {"type": "string"}}}
    },
    "responses": {
      "Error": {"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Reply": {"description": "the spawnpoint's reply (its code on refusal: 400, 403, 404, 409, 503)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}}
    }
  },
  "security": [{"bearer": []}, {"session": []}],
  "paths": {
    "/api/v1/info": {"get": {"summary": "the gateway: Base, ReadOnly, TokenRequired, Version", "responses": {"200": {"description": "ok"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/spawnpoints": {"get": {"summary": "every spawnpoint under the base, as spawnctl scan --json", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Spawnpoint"}}}}}}}},
    "/api/v1/service": {"get": {"summary": "one service", "parameters": [{"$ref": "#/components/parameters/spawnpoint"}, {"$ref": "#/components/parameters/name"}],
      "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Service"}}}}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/deploy": {"post": {"summary": "deploy a service", "parameters": [{"$ref": "#/components/parameters/spawnpoint"},
        {"name": "name", "in": "query", "schema": {"type": "string"}, "description": "overrides the deploy.yml's name"},
        {"name": "replace", "in": "query", "schema": {"type": "boolean"}, "description": "replace a service of the same name"}],
      "requestBody": {"required": true, "content": {
        "application/yaml": {"schema": {"type": "string", "description": "the deploy.yml"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"config": {"type": "string", "description": "the deploy.yml"}, "archive": {"type": "string", "format": "binary", "description": "a tar of the included files and dirs"}, "entity": {"type": "string", "format": "binary"}}}}}},
      "responses": {"200": {"$ref": "#/components/responses/Reply"}, "400": {"$ref": "#/components/responses/Reply"}, "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Reply"}, "503": {"$ref": "#/components/responses/Reply"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/restart": {"post": {"summary": "restart a service (or revive a zombie)", "parameters": [{"$ref": "#/components/parameters/spawnpoint"}, {"$ref": "#/components/parameters/name"}],
      "responses": {"200": {"$ref": "#/components/responses/Reply"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Reply"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/stop": {"post": {"summary": "stop a service", "parameters": [{"$ref": "#/components/parameters/spawnpoint"}, {"$ref": "#/components/parameters/name"}],
      "responses": {"200": {"$ref": "#/components/responses/Reply"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Reply"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/logs": {"get": {"summary": "the log history the spawnpoint keeps for a service", "parameters": [{"$ref": "#/components/parameters/spawnpoint"}, {"$ref": "#/components/parameters/name"},
        {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "only lines newer than this, e.g. 10m (0s: all kept)"}],
      "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Log"}}}}}, "404": {"$ref": "#/components/responses/Error"}, "504": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/events": {"get": {"summary": "Server-Sent Events: 'snapshot' first ({Base, Now, Spawnpoints}), then 'spawnpoint', 'spawnpoint-removed', 'service' ({Spawnpoint, Service}), 'service-removed' ({Spawnpoint, Name}) and 'log' (a Log with Spawnpoint)",
      "responses": {"200": {"description": "the stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/v1/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "ok"}}}},
    "/metrics": {"get": {"summary": "Prometheus text exposition", "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/login": {"post": {"summary": "trade the token for a session cookie (HttpOnly, SameSite=Strict)", "security": [],
      "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"token": {"type": "string"}}}}}},
      "responses": {"200": {"description": "logged in"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/logout": {"post": {"summary": "forget the session", "security": [], "responses": {"200": {"description": "logged out"}}}}
  }
})json";

}  // namespace

const std::string& OpenApiJson() {
  // Parsed once so that a typo in the document fails the unit test, not a client.
  static const std::string kDoc = nlohmann::json::parse(kOpenApi).dump();
  return kDoc;
}

}  // namespace spawn::gateway
