// spawnctl's exit codes: one table, printed at the end of `spawnctl --help`, in the README and in
// spawnctl(1) (reference_docs.h renders it), and the mapping every command goes through. The
// values follow sysexits.h where one fits (69 EX_UNAVAILABLE, 77 EX_NOPERM), 2 is the usual one
// for bad usage and 130 the shell's for SIGINT.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "spawn/common/status.h"
#include "spawn/proto/messages.h"

namespace spawn {

enum class ExitCode : int {
  kDone = 0,
  kRefused = 1,    // the spawnpoint refused, or the service did not get where it was asked to
  kUsage = 2,      // bad arguments, or a deploy.yml that does not parse or ships a missing file
  kNoAnswer = 69,  // no broker, or no answer in time
  kNotAuthorised = 77,  // the broker refused the credentials, a command or a subscription
  kInterrupted = 130,   // Ctrl-C (SIGINT) or SIGTERM while waiting
};

struct ExitCodeDoc {
  ExitCode code;
  std::string_view meaning;  // a phrase; may hold `code` spans
};

// Every exit code, in increasing order.
std::span<const ExitCodeDoc> ExitCodeTable();

// The exit code of a failed step, by its Status code: kBadRequest is bad usage or config (kUsage);
// kForbidden is the broker refusing us (kNotAuthorised: the credentials, or under MQTT 5 a publish
// or subscription); kUnavailable and kTimeout are no broker or no answer
// (kNoAnswer); anything else (kNotFound: no such service or spawnpoint, kConflict, kInternal) is
// kRefused. kDone for an ok Status.
ExitCode ExitCodeFor(const Status& status);

// A spawnpoint's reply: kDone when it accepted, kRefused whatever the refusal's code.
ExitCode ExitCodeFor(const proto::Reply& reply);

// A wait for a service's state (ServiceWatch::WaitForState) that failed: the spawnpoint has
// answered already, so a service that died, was purged or did not get there in time is kRefused.
// (An interrupted wait is kInterrupted; the caller knows, the Status does not say.)
ExitCode ExitCodeForWait(const Status& status);

}  // namespace spawn
