#include "portcullis/kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "portcullis/common/log.h"

namespace portcullis::kafka {
namespace {

Status FromErrorCode(RdKafka::ErrorCode code, std::string_view context) {
  std::string msg = std::string(context) + ": " + RdKafka::err2str(code);
  switch (code) {
    case RdKafka::ERR_NO_ERROR:
      return OkStatus();
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
      return DeadlineExceededError(msg);
    case RdKafka::ERR__QUEUE_FULL:
      return ResourceExhaustedError(msg);
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR__INVALID_ARG:
    case RdKafka::ERR_INVALID_MSG:
      return InvalidArgumentError(msg);
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
      return UnavailableError(msg);
    default:
      return InternalError(msg);
  }
}

// Per-message state, owned by librdkafka's opaque pointer until the report.
struct Pending {
  DeliveryCallback callback;
};

class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& msg) override {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(msg.msg_opaque()));
    if (!pending) return;
    DeliveryResult r;
    r.status = FromErrorCode(msg.err(), "kafka delivery");
    // With acks=all, a message that was persisted reports NO_ERROR; anything
    // else (including "possibly persisted") is not an acknowledgement.
    if (msg.err() == RdKafka::ERR_NO_ERROR &&
        msg.status() != RdKafka::Message::MSG_STATUS_PERSISTED) {
      r.status = UnavailableError("kafka delivery: message not confirmed persisted");
    }
    r.partition = msg.partition();
    r.offset = msg.offset();
    pending->callback(r);
  }
};

class LogEvents : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        log::Write(event.fatal() ? log::Level::kError : log::Level::kWarn, "kafka error",
                   {{"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
        break;
      case RdKafka::Event::EVENT_LOG:
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
          log::Warn("kafka", {{"facility", event.fac()}, {"detail", event.str()}});
        }
        break;
      default:
        break;
    }
  }
};

// A global configuration from `props` then `extra` (which may override), with
// librdkafka's errors and logs routed to our JSON log.
StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(
    std::vector<std::pair<std::string, std::string>> props,
    const std::map<std::string, std::string>& extra, RdKafka::EventCb* events) {
  for (const auto& kv : extra)
    props.emplace_back(kv);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return InvalidArgumentError("kafka property " + k + ": " + err);
    }
  }
  if (conf->set("event_cb", events, err) != RdKafka::Conf::CONF_OK) {
    return InternalError("kafka event callback: " + err);
  }
  return conf;
}

class ProducerImpl final : public Producer {
 public:
  ~ProducerImpl() override {
    if (producer_) {
      producer_->flush(5000);
      stop_ = true;
      poller_.join();
      if (producer_->outq_len() > 0) {
        log::Warn("kafka producer closed with undelivered messages",
                  {{"count", producer_->outq_len()}});
      }
    }
  }

  Status Init(const ProducerOptions& o) {
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", o.brokers},
        {"client.id", o.client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"delivery.timeout.ms", std::to_string(o.delivery_timeout.count())},
        {"linger.ms", "5"},
        {"compression.type", "zstd"},
    };
    auto conf = MakeConf(std::move(props), o.extra, &events_);
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("dr_cb", &reports_, err) != RdKafka::Conf::CONF_OK) {
      return InternalError("kafka callbacks: " + err);
    }
    producer_.reset(RdKafka::Producer::create(conf->get(), err));
    if (!producer_) return InvalidArgumentError("kafka producer: " + err);
    poller_ = std::thread([this] {
      while (!stop_)
        producer_->poll(50);
      producer_->poll(0);
    });
    return OkStatus();
  }

  Status Produce(const std::string& topic, std::string_view key, std::string_view value,
                 DeliveryCallback on_delivery) override {
    auto pending = std::make_unique<Pending>(Pending{std::move(on_delivery)});
    RdKafka::ErrorCode code = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, pending.get());
    if (code != RdKafka::ERR_NO_ERROR) return FromErrorCode(code, "kafka produce");
    pending.release();  // now owned by librdkafka until dr_cb
    return OkStatus();
  }

  std::vector<DeliveryResult> ProduceAndWait(const std::string& topic,
                                             const std::vector<Record>& records,
                                             std::chrono::milliseconds timeout) override {
    struct Shared {
      std::mutex mu;
      std::condition_variable cv;
      std::vector<DeliveryResult> results;
      std::vector<bool> done;
      std::size_t remaining = 0;
    };
    // Shared outlives this call if we time out before every report arrives.
    auto shared = std::make_shared<Shared>();
    shared->results.resize(records.size());
    shared->done.assign(records.size(), false);
    shared->remaining = records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      Status s =
          Produce(topic, records[i].key, records[i].value, [shared, i](const DeliveryResult& r) {
            std::lock_guard<std::mutex> lock(shared->mu);
            shared->results[i] = r;
            shared->done[i] = true;
            --shared->remaining;
            shared->cv.notify_all();
          });
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->results[i].status = s;
        shared->done[i] = true;
        --shared->remaining;
      }
    }
    std::unique_lock<std::mutex> lock(shared->mu);
    shared->cv.wait_for(lock, timeout, [&] { return shared->remaining == 0; });
    std::vector<DeliveryResult> out = shared->results;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!shared->done[i]) {
        out[i].status = DeadlineExceededError("kafka delivery not acknowledged in time");
      }
    }
    return out;
  }

  Status Flush(std::chrono::milliseconds timeout) override {
    return FromErrorCode(producer_->flush(static_cast<int>(timeout.count())), "kafka flush");
  }

  Status Ping(std::chrono::milliseconds timeout) override {
    RdKafka::Metadata* md = nullptr;
    RdKafka::ErrorCode code =
        producer_->metadata(false, nullptr, &md, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> owned(md);
    if (code != RdKafka::ERR_NO_ERROR) return FromErrorCode(code, "kafka metadata");
    if (md == nullptr || md->brokers()->empty()) return UnavailableError("kafka: no brokers");
    return OkStatus();
  }

  Status EnsureTopic(const std::string& topic, int partitions, int replication_factor,
                     std::chrono::milliseconds timeout) override {
    rd_kafka_t* rk = producer_->c_ptr();
    char errstr[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor,
                                                    errstr, sizeof(errstr));
    if (nt == nullptr) return InvalidArgumentError(std::string("kafka topic: ") + errstr);
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), errstr,
                                                sizeof(errstr));
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000);
    Status result = DeadlineExceededError("kafka create topic " + topic + ": timed out");
    if (ev != nullptr) {
      if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result =
            UnavailableError(std::string("kafka create topic: ") + rd_kafka_event_error_string(ev));
      } else {
        const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
        std::size_t n = 0;
        const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
        rd_kafka_resp_err_t err =
            n == 1 ? rd_kafka_topic_result_error(topics[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          result = OkStatus();
        } else {
          result = InvalidArgumentError(
              "kafka create topic " + topic + ": " +
              (n == 1 ? rd_kafka_topic_result_error_string(topics[0]) : "no result"));
        }
      }
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    return result;
  }

 private:
  DeliveryReports reports_;
  LogEvents events_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

class ConsumerImpl final : public Consumer {
 public:
  ~ConsumerImpl() override { (void)Close(); }

  Status Init(const ConsumerOptions& o) {
    if (o.group_id.empty()) return InvalidArgumentError("kafka consumer: group id is empty");
    if (o.topics.empty()) return InvalidArgumentError("kafka consumer: no topics");
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", o.brokers},
        {"client.id", o.client_id},
        {"group.id", o.group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", o.auto_offset_reset},
        {"enable.partition.eof", "false"},
        {"isolation.level", "read_committed"},
    };
    auto conf = MakeConf(std::move(props), o.extra, &events_);
    if (!conf.ok()) return conf.status();
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer_) return InvalidArgumentError("kafka consumer: " + err);
    RdKafka::ErrorCode code = consumer_->subscribe(o.topics);
    if (code != RdKafka::ERR_NO_ERROR) return FromErrorCode(code, "kafka subscribe");
    return OkStatus();
  }

  StatusOr<std::vector<Message>> Poll(std::size_t max_messages,
                                      std::chrono::milliseconds timeout) override {
    std::vector<Message> out;
    int wait_ms = static_cast<int>(timeout.count());
    while (out.size() < max_messages) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait_ms));
      wait_ms = 0;  // only the first waits; then drain what is already here
      if (!m) break;
      if (m->err() == RdKafka::ERR__TIMED_OUT) break;
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        if (m->err() == RdKafka::ERR__FATAL) return FromErrorCode(m->err(), "kafka consume");
        log::Warn("kafka consume", {{"error", m->errstr()}});
        break;
      }
      Message msg;
      msg.topic = m->topic_name();
      msg.partition = m->partition();
      msg.offset = m->offset();
      if (m->key() != nullptr) msg.key = *m->key();
      msg.value.assign(static_cast<const char*>(m->payload()), m->len());
      msg.timestamp_ms = m->timestamp().timestamp;
      out.push_back(std::move(msg));
    }
    return out;
  }

  Status Commit(const std::vector<Message>& processed) override {
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
    for (const Message& m : processed) {
      auto& off = next[{m.topic, m.partition}];
      off = std::max(off, m.offset + 1);
    }
    if (next.empty()) return OkStatus();
    std::vector<RdKafka::TopicPartition*> parts;
    for (const auto& [tp, off] : next) {
      parts.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, off));
    }
    RdKafka::ErrorCode code = consumer_->commitSync(parts);
    Status s = FromErrorCode(code, "kafka commit");
    for (RdKafka::TopicPartition* p : parts) {
      if (s.ok() && p->err() != RdKafka::ERR_NO_ERROR) s = FromErrorCode(p->err(), "kafka commit");
    }
    RdKafka::TopicPartition::destroy(parts);
    return s;
  }

  StatusOr<std::vector<PartitionLag>> Lag() override {
    std::vector<RdKafka::TopicPartition*> parts;
    RdKafka::ErrorCode code = consumer_->assignment(parts);
    if (code != RdKafka::ERR_NO_ERROR) return FromErrorCode(code, "kafka assignment");
    std::vector<PartitionLag> out;
    if (!parts.empty() && consumer_->position(parts) == RdKafka::ERR_NO_ERROR) {
      for (RdKafka::TopicPartition* p : parts) {
        std::int64_t low = 0, high = 0;
        if (p->offset() < 0) continue;  // nothing fetched yet
        if (consumer_->get_watermark_offsets(p->topic(), p->partition(), &low, &high) !=
                RdKafka::ERR_NO_ERROR ||
            high < 0) {
          continue;
        }
        out.push_back({p->topic(), p->partition(), std::max<std::int64_t>(0, high - p->offset())});
      }
    }
    RdKafka::TopicPartition::destroy(parts);
    return out;
  }

  Status Close() override {
    if (!consumer_ || closed_) return OkStatus();
    closed_ = true;
    return FromErrorCode(consumer_->close(), "kafka consumer close");
  }

 private:
  LogEvents events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool closed_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options) {
  if (options.brokers.empty()) return InvalidArgumentError("kafka producer: no brokers");
  auto p = std::make_unique<ProducerImpl>();
  PORTCULLIS_RETURN_IF_ERROR(p->Init(options));
  return std::unique_ptr<Producer>(std::move(p));
}

StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options) {
  if (options.brokers.empty()) return InvalidArgumentError("kafka consumer: no brokers");
  auto c = std::make_unique<ConsumerImpl>();
  PORTCULLIS_RETURN_IF_ERROR(c->Init(options));
  return std::unique_ptr<Consumer>(std::move(c));
}

}  // namespace portcullis::kafka
