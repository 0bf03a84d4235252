#include "spawn/client/exit_codes.h"

namespace spawn {
namespace {

constexpr ExitCodeDoc kExitCodes[] = {
    {ExitCode::kDone, "done (also a `tail`, or a command following the log, ended by Ctrl-C)"},
    {ExitCode::kRefused,
     "refused by the spawnpoint (an error reply: 400, 403, 404, 409, 503, 500) or no such service "
     "or spawnpoint; with `--no-follow`, the service did not run within `--wait`; `job --wait`: "
     "the job failed"},
    {ExitCode::kUsage,
     "bad usage (an unknown command or option, a bad argument) or a deploy.yml that does not "
     "parse or names a file that cannot be read"},
    {ExitCode::kNoAnswer,
     "no broker (cannot connect) or no answer within `--timeout` (under `--mqtt-version 3.1.1` "
     "the broker may also have refused the command: it drops a refused one without a word)"},
    {ExitCode::kNotAuthorised,
     "not authorised by the broker: it refused the credentials, or (MQTT 5) the command or a "
     "subscription it needs"},
    {ExitCode::kInterrupted, "interrupted by Ctrl-C while waiting for an answer or a state"},
};

}  // namespace

std::span<const ExitCodeDoc> ExitCodeTable() { return kExitCodes; }

ExitCode ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return ExitCode::kDone;
    case Code::kBadRequest:
      return ExitCode::kUsage;
    case Code::kForbidden:
      return ExitCode::kNotAuthorised;
    case Code::kUnavailable:
    case Code::kTimeout:
      return ExitCode::kNoAnswer;
    case Code::kNotFound:
    case Code::kConflict:
    case Code::kInternal:
    case Code::kInsufficientStorage:
      break;
  }
  return ExitCode::kRefused;
}

ExitCode ExitCodeFor(const proto::Reply& reply) {
  return reply.ok ? ExitCode::kDone : ExitCode::kRefused;
}

ExitCode ExitCodeForWait(const Status& status) {
  return status.ok() ? ExitCode::kDone : ExitCode::kRefused;
}

}  // namespace spawn
