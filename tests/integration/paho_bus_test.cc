// PahoBus on a private Mosquitto: what spawnd and spawnctl rely on of the bus (persistent sessions,
// reconnection, TLS, batches) and the Paho C 1.3.12 workarounds they carry (bus/workarounds/),
// which this program installs as they do. Waits are condition-variable waits with generous
// timeouts: nothing asserts on time.
#include "spawn/bus/paho_bus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "harness.h"
#include "paho_workarounds.h"
#include "proc_entries.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using namespace spawn::testing;

// This file's private brokers run on PrivateBrokerPort(18830) (and a TLS listener 1000 above);
// SIGKILLed, they save nothing, so sessions are lost.

// Calls `visit` with each connected TCP socket of this process whose peer port is `port`.
void ForEachTcpSocketTo(int port, const std::function<void(int fd)>& visit) {
  for (const long entry : NumberedEntries("/proc/self/fd")) {
    const int fd = static_cast<int>(entry);
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    int type = 0;
    socklen_t type_length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_STREAM ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
      continue;
    }
    int peer_port = 0;
    if (peer.ss_family == AF_INET)
      peer_port = ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
    if (peer.ss_family == AF_INET6) {
      peer_port = ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port);
    }
    if (peer_port == port) visit(fd);
  }
}

class InstallWorkarounds : public ::testing::Environment {
 public:
  void SetUp() override { InstallPahoWorkarounds(); }
};
const auto* const kWorkarounds = ::testing::AddGlobalTestEnvironment(new InstallWorkarounds);

// PahoBus on a private broker: what spawnd relies on.
class Recorder {
 public:
  explicit Recorder(Bus& bus) {
    bus.SetMessageHandler([this](const BusMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m.topic + "=" + m.payload);
      cv_.notify_all();
    });
    bus.SetConnectionHandler([this](bool up) {
      std::lock_guard lock(mu_);
      connections_.push_back(up);
      cv_.notify_all();
    });
  }
  bool WaitMessage(const std::string& expected) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] {
      return std::find(messages_.begin(), messages_.end(), expected) != messages_.end();
    });
  }
  // Waits until the connection handler was called with `up` after `after` earlier calls.
  bool WaitConnection(bool up, size_t after) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] {
      return std::find(connections_.begin() + std::min(after, connections_.size()),
                       connections_.end(), up) != connections_.end();
    });
  }
  // How many calls the connection handler had once it reported the first connection (0 if it never
  // did). The handler may run after Connect returns, so a count taken right then can be too early
  // and a later wait for a reconnection would be met by the first connection.
  size_t CallsOnceConnected() {
    if (!WaitConnection(true, 0)) return 0;
    std::lock_guard lock(mu_);
    return connections_.size();
  }
  size_t Calls() {
    std::lock_guard lock(mu_);
    return connections_.size();
  }
  std::vector<std::string> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
  std::vector<bool> connections_;
};

// Connects with `o`, subscribes to `filter` and leaves: the broker keeps the subscription.
void SubscribeAndLeave(const BusOptions& o, const std::string& filter) {
  auto first = MakePahoBus(o);
  ASSERT_TRUE(first->Connect().ok());
  ASSERT_TRUE(first->Subscribe(filter, 1).ok());
  ASSERT_TRUE(first->Disconnect().ok());
}

TEST(PahoBusTest, APersistentSessionGetsWhatWasPublishedWhileItWasAway) {
  PrivateBroker broker(PrivateBrokerPort(18830), 0);
  ASSERT_TRUE(broker.Start());
  const BusOptions o = broker.PersistentSession("paho-bus-test-q");
  ASSERT_NO_FATAL_FAILURE(SubscribeAndLeave(o, "q/#"));
  Probe publisher(broker.uri());
  publisher.Publish("q/one", "while away");
  auto again = MakePahoBus(o);  // a new process would start with no filters remembered
  Recorder recorder(*again);
  ASSERT_TRUE(again->Connect().ok());
  EXPECT_TRUE(recorder.WaitMessage("q/one=while away"));
}

// The broker (and PrivateBroker, which the fault tests rely on) keeps sessions across a clean
// restart: what was published before the subscriber came back waits for it.
TEST(PahoBusTest, APersistentSessionSurvivesABrokerRestart) {
  PrivateBroker broker(PrivateBrokerPort(18830), 0);
  ASSERT_TRUE(broker.Start());
  const BusOptions o = broker.PersistentSession("paho-bus-test-s");
  ASSERT_NO_FATAL_FAILURE(SubscribeAndLeave(o, "s/#"));
  broker.Stop();  // SIGTERM: Mosquitto saves its sessions
  ASSERT_TRUE(broker.Start());
  Probe publisher(broker.uri());
  publisher.Publish("s/one", "after the restart");
  auto again = MakePahoBus(o);
  Recorder recorder(*again);
  ASSERT_TRUE(again->Connect().ok());
  EXPECT_TRUE(recorder.WaitMessage("s/one=after the restart"));
}

TEST(PahoBusTest, ReconnectsByItselfAndRenewsItsSubscriptionsWhenTheBrokerLostTheSession) {
  PrivateBroker broker(PrivateBrokerPort(18830), 0);
  ASSERT_TRUE(broker.Start());
  const BusOptions o = broker.PersistentSession("paho-bus-test-r");
  auto bus = MakePahoBus(o);
  Recorder recorder(*bus);
  ASSERT_TRUE(bus->Connect().ok());
  ASSERT_TRUE(bus->Subscribe("r/#", 1).ok());
  const size_t before = recorder.CallsOnceConnected();
  ASSERT_GT(before, 0u);
  broker.Kill();  // SIGKILL: the session is not saved
  ASSERT_TRUE(recorder.WaitConnection(false, before));
  EXPECT_FALSE(bus->Publish({"r/x", "lost", 1, false}).ok());  // fails fast, not buffered
  ASSERT_TRUE(broker.Start());
  ASSERT_TRUE(recorder.WaitConnection(true, before));
  ASSERT_TRUE(
      bus->Publish({"r/x", "back", 1, false}).ok());  // to itself, through the renewed filter
  EXPECT_TRUE(recorder.WaitMessage("r/x=back"));
}

// A publish whose write fails. Paho C 1.3.12 (Debian 12's) then frees the message's topic and
// payload, yet keeps it in flight and resends it from the freed memory after the reconnection: the
// broker gets a garbled topic, or a malformed packet and drops the connection at every
// reconnection (upstream eclipse-paho/paho.mqtt.c#1401 and #1621). Here the write fails for
// certain: the broker is frozen, so nobody reads or closes the connection, and the publisher's
// own side of it (to `publisher_port`) is shut for writing.
void ExpectAPublishWhoseWriteFailsResentIntact(PrivateBroker& broker, BusOptions publisher_options,
                                               int publisher_port) {
  auto subscriber = MakePahoBus(broker.PersistentSession("paho-bus-test-w-sub"));
  Recorder received(*subscriber);
  ASSERT_TRUE(subscriber->Connect().ok());
  ASSERT_TRUE(subscriber->Subscribe("w/#", 1).ok());
  std::set<int> subscriber_sockets;
  ForEachTcpSocketTo(publisher_port, [&](int fd) { subscriber_sockets.insert(fd); });
  publisher_options.client_id = "paho-bus-test-w-pub-" + std::to_string(getpid());
  publisher_options.clean_session = false;
  publisher_options.session_expiry = 1h;  // MQTT 5: a session of expiry 0 ends with its connection
  auto publisher = MakePahoBus(publisher_options);
  Recorder connections(*publisher);
  ASSERT_TRUE(publisher->Connect().ok());
  const size_t calls = connections.CallsOnceConnected();
  ASSERT_GT(calls, 0u);

  broker.Freeze();
  int shut = 0;
  ForEachTcpSocketTo(publisher_port, [&](int fd) {
    if (!subscriber_sockets.contains(fd) && shutdown(fd, SHUT_WR) == 0) ++shut;
  });
  ASSERT_EQ(shut, 1);
  // The publish waits for an acknowledgement that only the thawed broker can give.
  auto kept = std::async(std::launch::async, [&] {
    return publisher->Publish({"w/kept", "pkept", 1, false});
  });
  std::this_thread::sleep_for(1s);  // long enough for Paho's send thread to try the write
  broker.Thaw();
  ASSERT_TRUE(connections.WaitConnection(true, calls));
  kept.wait();
  EXPECT_TRUE(received.WaitMessage("w/kept=pkept"));  // kept in flight, resent intact

  ASSERT_TRUE(publisher->Publish({"w/end", "pend", 1, false}).ok());
  ASSERT_TRUE(received.WaitMessage("w/end=pend"));
  for (const std::string& m : received.Messages()) {
    const auto equals = m.find('=');
    ASSERT_NE(equals, std::string::npos) << m;
    EXPECT_EQ("w/" + m.substr(equals + 2), m.substr(0, equals)) << "garbled: " << m;
  }
  EXPECT_THAT(broker.Log(), ::testing::Not(HasSubstr("malformed packet")));
}

TEST(PahoBusTest, APublishWhoseWriteFailsIsResentIntactAfterTheReconnection) {
  const int port = PrivateBrokerPort(18830);
  PrivateBroker broker(port, 0);
  ASSERT_TRUE(broker.Start());
  BusOptions o;
  o.uri = broker.uri();
  ExpectAPublishWhoseWriteFailsResentIntact(broker, o, port);
}

// How many of this process's sockets to `port` there are, and how many of them have Nagle off.
std::pair<int, int> SocketsAndNoDelay(int port) {
  int sockets = 0, no_delay = 0;
  ForEachTcpSocketTo(port, [&](int fd) {
    int on = 0;
    socklen_t length = sizeof on;
    ++sockets;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on) ++no_delay;
  });
  return {sockets, no_delay};
}

// Paho leaves Nagle's algorithm on; with it, a PUBLISH written after a PUBACK waits for the
// broker's delayed ACK. The workarounds turn it off on every connection, reconnections too.
TEST(PahoBusTest, ItsConnectionsToTheBrokerHaveNagleOff) {
  const int port = PrivateBrokerPort(18830);
  PrivateBroker broker(port, 0);
  ASSERT_TRUE(broker.Start());
  BusOptions o;
  o.uri = broker.uri();
  auto bus = MakePahoBus(o);
  Recorder recorder(*bus);
  ASSERT_TRUE(bus->Connect().ok());
  EXPECT_EQ(SocketsAndNoDelay(port), std::make_pair(1, 1));

  const size_t before = recorder.CallsOnceConnected();
  ASSERT_GT(before, 0u);
  broker.Kill();
  ASSERT_TRUE(recorder.WaitConnection(false, before));
  ASSERT_TRUE(broker.Start());
  ASSERT_TRUE(recorder.WaitConnection(true, before));
  EXPECT_EQ(SocketsAndNoDelay(port), std::make_pair(1, 1));
}

// A CA and a broker certificate for 127.0.0.1 signed by it, made with the openssl command.
struct TestCertificates {
  TempDir dir{"tls"};
  bool Make() {
    const std::string d = dir.str();
    dir.Write("san.ext", "subjectAltName=IP:127.0.0.1\n");
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string commands[] = {
        "openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 2 -subj /CN=spawntest-ca",
        "openssl req " + key + " -keyout broker.key -out broker.csr -subj /CN=127.0.0.1",
        "openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -out broker.crt -days 2 -extfile san.ext",
        "openssl req -x509 " + key +
            " -keyout other.key -out other-ca.crt -days 2 -subj /CN=other"};
    std::string script = "cd " + d;
    for (const auto& command : commands) script += " && " + command;
    return std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  std::string Path(const std::string& name) const { return dir.str() + "/" + name; }
};

// A private broker with a TLS listener beside its plain one, and the options of a bus that
// trusts it.
struct TlsBroker {
  bool Start() {
    if (!certs.Make()) return false;
    broker.emplace(port, 0,
                   "listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " +
                       certs.Path("ca.crt") + "\ncertfile " + certs.Path("broker.crt") +
                       "\nkeyfile " + certs.Path("broker.key") + "\n");
    options.uri = "ssl://127.0.0.1:" + std::to_string(tls_port);
    options.ca_file = certs.Path("ca.crt");
    return broker->Start();
  }

  TestCertificates certs;
  const int port = PrivateBrokerPort(18830), tls_port = port + 1000;
  std::optional<PrivateBroker> broker;
  BusOptions options;
};

// ssl:// end to end: Paho is left to OpenSSL's own initialisation (see paho_bus.cc), so this is
// what shows TLS still works; and a broker whose certificate the CA did not sign is refused.
TEST(PahoBusTest, ConnectsOverTlsAndRefusesABrokerItCannotVerify) {
  TlsBroker tls;
  ASSERT_TRUE(tls.Start()) << "no test certificates, or the broker did not start";
  const BusOptions& o = tls.options;
  auto bus = MakePahoBus(o);
  Recorder recorder(*bus);
  Status connected = bus->Connect();
  ASSERT_TRUE(connected.ok()) << connected.message();
  ASSERT_TRUE(bus->Subscribe("tls/#", 1).ok());
  ASSERT_TRUE(bus->Publish({"tls/x", "secret", 1, false}).ok());
  EXPECT_TRUE(recorder.WaitMessage("tls/x=secret"));

  BusOptions untrusting = o;
  untrusting.ca_file = tls.certs.Path("other-ca.crt");
  untrusting.connect_timeout = 2s;
  Status refused = MakePahoBus(untrusting)->Connect();
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr(untrusting.uri));
}

TEST(PahoBusTest, APublishWhoseTlsWriteFailsIsResentIntactAfterTheReconnection) {
  TlsBroker tls;
  ASSERT_TRUE(tls.Start()) << "no test certificates, or the broker did not start";
  ExpectAPublishWhoseWriteFailsResentIntact(*tls.broker, tls.options, tls.tls_port);
}

TEST(PahoBusTest, ABatchIsPublishedInOrderAndEachMessageReportedAsPublishWould) {
  PrivateBroker broker(PrivateBrokerPort(18830), 0);
  ASSERT_TRUE(broker.Start());
  Probe subscriber(broker.uri());
  ASSERT_TRUE(subscriber.Subscribe("batch/#"));
  BusOptions o;
  o.uri = broker.uri();
  auto bus = MakePahoBus(o);
  std::vector<BusMessage> batch;
  for (int i = 0; i < 300; ++i) {
    // A run of QoS 1 longer than Paho queues for a client (100), then QoS 1 and 0 mixed, as the
    // outbox's queue holds heartbeats and log lines.
    batch.push_back({"batch/m", std::to_string(i), i >= 200 && i % 3 == 0 ? 0 : 1, false});
  }
  const std::vector<Status> before = bus->PublishBatch(batch);  // not connected yet
  ASSERT_EQ(before.size(), batch.size());
  for (const Status& s : before) EXPECT_EQ(s.code(), Code::kUnavailable) << s.message();

  ASSERT_TRUE(bus->Connect().ok());
  const std::vector<Status> statuses = bus->PublishBatch(batch);
  ASSERT_EQ(statuses.size(), batch.size());
  for (const Status& s : statuses) EXPECT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(subscriber.WaitFor(
      [](const BusMessage& m) { return m.topic == "batch/m" && m.payload == "299"; }, 60s));
  const auto received = subscriber.All([](const BusMessage& m) { return m.topic == "batch/m"; });
  ASSERT_EQ(received.size(), batch.size());
  for (size_t i = 0; i < received.size(); ++i) EXPECT_EQ(received[i].payload, std::to_string(i));
  EXPECT_TRUE(bus->Disconnect().ok());
}

TEST(PahoBusTest, ConnectingToNothingFailsWithTheAddress) {
  BusOptions o;
  o.uri = "tcp://127.0.0.1:9";  // discard port: nobody listens
  o.connect_timeout = 2s;
  auto bus = MakePahoBus(o);
  Status status = bus->Connect();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:9"));
  EXPECT_TRUE(bus->Disconnect().ok());
}

// A private broker that lets only user alice (password "secret") in, and lets her publish and
// subscribe under open/ only.
class GuardedBroker {
 public:
  GuardedBroker() : files_("guarded-broker") {
    const auto passwords = files_.Write("passwords", "alice:secret\n");
    const auto acl = files_.Write("acl", "user alice\ntopic readwrite open/#\n");
    EXPECT_EQ(Shell("mosquitto_passwd -U " + Quote(passwords.string())).exit_code, 0);
    broker_.emplace(PrivateBrokerPort(18830), 0,
                    "allow_anonymous false\npassword_file " + passwords.string() + "\nacl_file " +
                        acl.string() + "\n");
  }
  // Starts the broker; its own readiness probe (anonymous) is refused (false after its 10 s), so
  // wait for alice instead.
  bool Start() {
    (void)broker_->Start();
    for (int i = 0; i < 100; ++i) {
      auto bus = MakePahoBus(Options());
      if (bus->Connect().ok()) return bus->Disconnect().ok();
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  BusOptions Options(MqttVersion version = MqttVersion::kV5) const {
    BusOptions o;
    o.uri = broker_->uri();
    o.username = "alice";
    o.password = "secret";
    o.mqtt_version = version;
    o.connect_timeout = 5s;
    return o;
  }

 private:
  TempDir files_;
  std::optional<PrivateBroker> broker_;
};

TEST(PahoBusTest, UnderMqtt5APublishTheBrokerRefusesIsForbiddenNamingTheTopic) {
  GuardedBroker broker;
  ASSERT_TRUE(broker.Start());
  auto bus = MakePahoBus(broker.Options());
  ASSERT_TRUE(bus->Connect().ok());
  // A PUBACK of "no matching subscribers" (0x10) is a success.
  EXPECT_TRUE(bus->Publish({"open/nobody", "x", 1, false}).ok());
  const Status refused = bus->Publish({"closed/x", "x", 1, false});
  EXPECT_EQ(refused.code(), Code::kForbidden) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr("closed/x"));
  EXPECT_THAT(refused.message(), HasSubstr("the broker refused it (not authorised)"));
  const auto batch = bus->PublishBatch(
      {{"open/a", "a", 1, false}, {"closed/b", "b", 1, false}, {"open/c", "c", 1, false}});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_TRUE(batch[0].ok()) << batch[0].ToString();
  EXPECT_EQ(batch[1].code(), Code::kForbidden) << batch[1].ToString();
  EXPECT_TRUE(batch[2].ok()) << batch[2].ToString();
  // (Mosquitto's acl_file grants every subscription and filters deliveries instead: there is no
  // SUBACK refusal to see here.)
  EXPECT_TRUE(bus->Subscribe("open/#", 1).ok());
  EXPECT_TRUE(bus->Disconnect().ok());
}

TEST(PahoBusTest, UnderMqtt311ABrokerDropsARefusedPublishSilently) {
  GuardedBroker broker;
  ASSERT_TRUE(broker.Start());
  auto bus = MakePahoBus(broker.Options(MqttVersion::kV311));
  ASSERT_TRUE(bus->Connect().ok());
  EXPECT_TRUE(bus->Publish({"closed/x", "x", 1, false}).ok());
  EXPECT_TRUE(bus->Disconnect().ok());
}

TEST(PahoBusTest, ACredentialsRefusalIsForbiddenAndSaysSo) {
  GuardedBroker broker;
  ASSERT_TRUE(broker.Start());
  for (const MqttVersion version : {MqttVersion::kV5, MqttVersion::kV311}) {
    SCOPED_TRACE(ToString(version));
    BusOptions wrong = broker.Options(version);
    wrong.password = "wrong";
    auto bus = MakePahoBus(wrong);
    const Status refused = bus->Connect();
    EXPECT_EQ(refused.code(), Code::kForbidden) << refused.ToString();
    EXPECT_THAT(refused.message(), HasSubstr("refused the credentials of user alice"));
    BusOptions anonymous = broker.Options(version);
    anonymous.username.clear();
    anonymous.password.clear();
    auto nobody = MakePahoBus(anonymous);
    const Status unknown = nobody->Connect();
    EXPECT_EQ(unknown.code(), Code::kForbidden) << unknown.ToString();
    EXPECT_THAT(unknown.message(), HasSubstr("refused the credentials of anonymous"));
  }
}

// MQTT 5: a message queued for a persistent session that is away expires with its expiry, and
// one that arrives in time carries what was left of its expiry.
TEST(PahoBusTest, UnderMqtt5AQueuedMessageExpires) {
  PrivateBroker broker(PrivateBrokerPort(18830), 0);
  ASSERT_TRUE(broker.Start());
  const BusOptions session = broker.PersistentSession("paho-bus-test-expiry");
  SubscribeAndLeave(session, "e/#");
  BusOptions o;
  o.uri = broker.uri();
  auto publisher = MakePahoBus(o);
  ASSERT_TRUE(publisher->Connect().ok());
  BusMessage brief{"e/brief", "b", 1, false, 1s};
  BusMessage lasting{"e/lasting", "l", 1, false, 600s};
  ASSERT_TRUE(publisher->Publish(brief).ok());
  ASSERT_TRUE(publisher->Publish(lasting).ok());
  std::this_thread::sleep_for(2500ms);  // past the brief one's expiry

  auto subscriber = MakePahoBus(session);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<BusMessage> got;
  subscriber->SetMessageHandler([&](const BusMessage& m) {
    std::lock_guard lock(mu);
    got.push_back(m);
    cv.notify_all();
  });
  ASSERT_TRUE(subscriber->Connect().ok());
  ASSERT_TRUE(publisher->Publish({"e/end", "x", 1, false}).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] {
    return std::any_of(got.begin(), got.end(), [](const auto& m) { return m.topic == "e/end"; });
  }));
  std::vector<std::string> topics;
  for (const auto& m : got) topics.push_back(m.topic);
  EXPECT_THAT(topics, ::testing::ElementsAre("e/lasting", "e/end"));
  EXPECT_GT(got[0].expiry.count(), 0);
  EXPECT_LE(got[0].expiry.count(), 600);
  EXPECT_EQ(got[1].expiry.count(), 0);
  lock.unlock();
  EXPECT_TRUE(subscriber->Disconnect().ok());
  EXPECT_TRUE(publisher->Disconnect().ok());
}

}  // namespace
}  // namespace spawn
