// The HTTP health probe of CurlDockerEngine (HttpProber): one transfer on the CurlStreamHub, whose
// outcome becomes an HttpProbeResult. Engine-private.
#pragma once

#include "spawn/engine/http_prober.h"
#include "stream_hub.h"

namespace spawn {

// Starts `probe` on `hub`; `done` runs on the hub's thread.
void StartHttpProbe(CurlStreamHub& hub, const HttpProbe& probe, HttpProber::ProbeDone done);

// The result of a probe that ended with `rc`, HTTP status `code` and `body` (what the hub saw).
HttpProbeResult ProbeOutcome(CURLcode rc, const std::string& error, long code,
                             const std::string& body, const std::string& expect);

}  // namespace spawn
