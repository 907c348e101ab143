#include "mcp/server.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace taskman::mcp {
namespace {

// Records what the server sends for one request, in order.
class RecordingExchange : public Exchange {
 public:
  void send_related(const Json& m) override {
    std::lock_guard lock(mu);
    sent.push_back(m);
  }
  void finish(std::optional<Json> r) override {
    std::lock_guard lock(mu);
    ++finishes;
    response = std::move(r);
    done = true;
  }
  std::mutex mu;
  std::vector<Json> sent;
  std::optional<Json> response;
  bool done = false;
  int finishes = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server(ServerOptions{{"fixture", "1.2.3", "Fixture"}, "", 2, true}) {
    server.add_tool(Tool{"echo", "Echo", "Echoes its text", {{"type", "object"}}, nullptr, nullptr, nullptr},
                    [](CallPtr, Json args, Reply<Json> reply) {
                      reply(tool_result(Json::array({text_content(args.value("text", ""))})));
                    });
    server.add_tool(Tool{"fail", "", "Always fails", {{"type", "object"}}, nullptr, nullptr, nullptr},
                    [](CallPtr, Json, Reply<Json> reply) {
                      reply(Error::make(ErrorCode::kUnavailable, "backend unavailable"));
                    });
    server.add_tool(
        Tool{"chatty", "", "Logs and reports progress", {{"type", "object"}}, nullptr, nullptr, nullptr},
        [](CallPtr ctx, Json, Reply<Json> reply) {
          ctx->log(LogLevel::kDebug, "debug line");
          ctx->progress(0, 2);
          ctx->log(LogLevel::kError, "error line");
          ctx->progress(2, 2);
          reply(tool_result(Json::array({text_content("done")})));
        });
    server.add_tool(
        Tool{"slow", "", "Waits for the test to finish it", {{"type", "object"}}, nullptr, nullptr, nullptr},
        [this](CallPtr ctx, Json, Reply<Json> reply) {
          ctx->on_cancel([this] { cancelled = true; });
          parked = std::move(reply);
          parked_ctx = ctx;
        });
    server.add_tool(
        Tool{"ask", "", "Asks the client", {{"type", "object"}}, nullptr, nullptr, nullptr},
        [](CallPtr ctx, Json, Reply<Json> reply) {
          ctx->request("sampling/createMessage", Json{{"messages", Json::array()}}, [reply](Result<Json> r) {
            if (!r.ok()) return reply(r.error());
            reply(tool_result(Json::array({text_content(r.value().value("text", ""))})));
          });
        });
    for (int i = 0; i < 3; ++i) {
      server.add_prompt(
          Prompt{"p" + std::to_string(i), "", "prompt", {{"who", "", i == 0}}},
          [](CallPtr, Json args, Reply<Json> reply) {
            reply(Json{{"messages", Json::array({{{"role", "user"},
                                                  {"content", text_content(args.value("who", "-"))}}})}});
          });
    }
    server.add_resource(Resource{"test://a", "a", "", "", "text/plain"},
                        [](CallPtr, std::string uri, Reply<Json> r) {
                          r(Json::array({{{"uri", uri}, {"text", "A"}}}));
                        });
    server.add_resource_template(ResourceTemplate{"test://item/{id}/data", "item", "", "", "text/plain"},
                                 [](CallPtr, std::string uri, auto vars, Reply<Json> r) {
                                   if (vars[0].second == "missing") {
                                     return r(Error::make(ErrorCode::kNotFound, "no such item"));
                                   }
                                   r(Json::array({{{"uri", uri}, {"text", "item " + vars[0].second}}}));
                                 });
    server.set_completion_handler([](CallPtr, Json params, Reply<Json> reply) {
      Json values = Json::array();
      for (int i = 0; i < 150; ++i)
        values.push_back(params["argument"]["value"].get<std::string>() + std::to_string(i));
      reply(Json{{"values", values}});
    });
    session = server.open_session("s1");
  }
  // A call a test leaves in flight (the "slow" tool) holds its session and the session holds it:
  // closing the session cancels it and breaks the cycle, as the transports do.
  void TearDown() override { server.close_session(session); }

  std::shared_ptr<RecordingExchange> call(const Json& msg, const std::shared_ptr<Session>& s = nullptr) {
    auto m = to_message(msg);
    EXPECT_TRUE(std::holds_alternative<Message>(m));
    auto ex = std::make_shared<RecordingExchange>();
    server.handle(s ? s : session, std::get<Message>(m), ex);
    return ex;
  }
  Json request(std::string method, Json params = nullptr, Json id = 1) {
    auto ex = call(make_request(id, method, std::move(params)));
    EXPECT_TRUE(ex->done);
    EXPECT_TRUE(ex->response.has_value());
    return ex->response.value_or(Json());
  }
  void notify(std::string method, Json params = nullptr) {
    call(make_notification(method, std::move(params)));
  }
  void initialize(std::string version = "2025-11-25") {
    auto r = request("initialize", {{"protocolVersion", version},
                                    {"capabilities", {{"sampling", Json::object()}}},
                                    {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    ASSERT_TRUE(r.contains("result")) << r;
    notify("notifications/initialized");
  }

  Server server;
  std::shared_ptr<Session> session;
  Reply<Json> parked;
  CallPtr parked_ctx;
  std::atomic<bool> cancelled{false};
};

TEST_F(ServerTest, InitializeNegotiatesVersion) {
  auto r = request("initialize", {{"protocolVersion", "2025-06-18"}, {"capabilities", Json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(r["result"]["serverInfo"]["name"], "fixture");
  EXPECT_EQ(r["result"]["serverInfo"]["version"], "1.2.3");
  const Json caps = r["result"]["capabilities"];
  EXPECT_TRUE(caps.contains("tools"));
  EXPECT_TRUE(caps.contains("resources"));
  EXPECT_TRUE(caps["resources"]["subscribe"].get<bool>());
  EXPECT_TRUE(caps.contains("prompts"));
  EXPECT_TRUE(caps.contains("logging"));
  EXPECT_TRUE(caps.contains("completions"));
  EXPECT_EQ(session->protocol_version(), "2025-06-18");
}

TEST_F(ServerTest, UnsupportedVersionIsAnsweredWithTheLatest) {
  auto r = request("initialize", {{"protocolVersion", "1999-01-01"}, {"capabilities", Json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
  for (auto v : {"2025-11-25", "2025-03-26"}) EXPECT_EQ(negotiate_version(v), v);
}

TEST_F(ServerTest, MalformedInitializeIsInvalidParams) {
  EXPECT_EQ(request("initialize", {{"protocolVersion", 5}})["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(request("initialize")["error"]["code"], rpc::kInvalidParams);
  EXPECT_FALSE(session->initialized());
}

TEST_F(ServerTest, SecondInitializeIsRejected) {
  initialize();
  EXPECT_EQ(request("initialize", {{"protocolVersion", "2025-11-25"}})["error"]["code"],
            rpc::kInvalidRequest);
}

TEST_F(ServerTest, RequestsBeforeInitializeAreRejectedExceptPing) {
  EXPECT_EQ(request("tools/list")["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ(request("ping")["result"], Json::object());
}

TEST_F(ServerTest, UnknownMethodAndBadParams) {
  initialize();
  EXPECT_EQ(request("nope/nope")["error"]["code"], rpc::kMethodNotFound);
  EXPECT_EQ(request("tools/call", Json::array({1}))["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(request("tools/call", "str")["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(request("tools/call", {{"name", 3}})["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(request("tools/call", {{"name", "echo"}, {"arguments", "x"}})["error"]["code"],
            rpc::kInvalidParams);
  EXPECT_EQ(request("logging/setLevel", {{"level", "loud"}})["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ServerTest, MethodsOfCapabilitiesNotOfferedAreNotFound) {
  Server bare(ServerOptions{});
  auto s = bare.open_session("x");
  auto ex = std::make_shared<RecordingExchange>();
  bare.handle(
      s, std::get<Message>(to_message(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}))),
      ex);
  EXPECT_FALSE(ex->response->at("result").at("capabilities").contains("tools"));
  ex = std::make_shared<RecordingExchange>();
  bare.handle(s, std::get<Message>(to_message(make_request(2, "tools/list", nullptr))), ex);
  EXPECT_EQ((*ex->response)["error"]["code"], rpc::kMethodNotFound);
}

TEST_F(ServerTest, CallsAToolAndUnknownToolIsInvalidParams) {
  initialize();
  auto r = request("tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}});
  EXPECT_EQ(r["result"]["content"][0]["text"], "hi");
  EXPECT_FALSE(r["result"].contains("isError"));
  auto unknown = request("tools/call", {{"name", "nope"}});
  EXPECT_EQ(unknown["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ServerTest, ToolFailureIsAnIsErrorResult) {
  initialize();
  auto r = request("tools/call", {{"name", "fail"}});
  EXPECT_TRUE(r["result"]["isError"].get<bool>());
  EXPECT_EQ(r["result"]["content"][0]["text"], "backend unavailable");
}

TEST_F(ServerTest, NotificationsPrecedeTheResponseAndRespectTheLevel) {
  initialize();
  EXPECT_EQ(request("logging/setLevel", {{"level", "warning"}})["result"], Json::object());
  auto ex = call(make_request(5, "tools/call", {{"name", "chatty"}, {"_meta", {{"progressToken", "tok"}}}}));
  ASSERT_TRUE(ex->response);
  ASSERT_EQ(ex->sent.size(), 3u);  // the debug line is below the threshold
  EXPECT_EQ(ex->sent[0]["method"], "notifications/progress");
  EXPECT_EQ(ex->sent[0]["params"]["progressToken"], "tok");
  EXPECT_EQ(ex->sent[0]["params"]["progress"], 0);
  EXPECT_EQ(ex->sent[1]["method"], "notifications/message");
  EXPECT_EQ(ex->sent[1]["params"]["level"], "error");
  EXPECT_EQ(ex->sent[2]["params"]["progress"], 2);
  EXPECT_EQ(ex->sent[2]["params"]["total"], 2);
  EXPECT_EQ((*ex->response)["id"], 5);
}

TEST_F(ServerTest, NoProgressWithoutToken) {
  initialize();
  auto ex = call(make_request(5, "tools/call", {{"name", "chatty"}}));
  for (const auto& m : ex->sent) EXPECT_NE(m["method"], "notifications/progress");
  EXPECT_EQ(ex->sent.size(), 2u);  // both log lines: no level set yet
}

TEST_F(ServerTest, CancellationTellsTheCallAndSuppressesTheResponse) {
  initialize();
  auto ex = call(make_request("c1", "tools/call", {{"name", "slow"}}));
  EXPECT_FALSE(ex->done);
  EXPECT_EQ(session->in_flight(), 1u);
  notify("notifications/cancelled", {{"requestId", "c1"}, {"reason", "user"}});
  EXPECT_TRUE(cancelled.load());
  EXPECT_TRUE(parked_ctx->cancelled());
  EXPECT_TRUE(ex->done);
  EXPECT_FALSE(ex->response.has_value());
  parked(tool_result(Json::array()));  // a late reply is dropped
  EXPECT_EQ(ex->finishes, 1);
  EXPECT_EQ(session->in_flight(), 0u);
}

TEST_F(ServerTest, AsyncCompletionFromAnotherThread) {
  initialize();
  auto ex = call(make_request(9, "tools/call", {{"name", "slow"}}));
  EXPECT_FALSE(ex->done);
  std::thread t([&] { parked(tool_result(Json::array({text_content("late")}))); });
  t.join();
  ASSERT_TRUE(ex->response);
  EXPECT_EQ((*ex->response)["result"]["content"][0]["text"], "late");
}

TEST_F(ServerTest, DuplicateInFlightIdIsRejected) {
  initialize();
  auto first = call(make_request(1, "tools/call", {{"name", "slow"}}));
  auto second = call(make_request(1, "ping", nullptr));
  ASSERT_TRUE(second->response);
  EXPECT_EQ((*second->response)["error"]["code"], rpc::kInvalidRequest);
  EXPECT_FALSE(first->done);
}

TEST_F(ServerTest, ServerToClientRequestMatchedById) {
  initialize();
  auto ex = call(make_request(3, "tools/call", {{"name", "ask"}}));
  ASSERT_EQ(ex->sent.size(), 1u);
  const Json req = ex->sent[0];
  EXPECT_EQ(req["method"], "sampling/createMessage");
  EXPECT_FALSE(ex->done);
  // An answer with an unknown id is ignored; the right one completes the call.
  call(make_result(12345, Json{{"text", "wrong"}}));
  EXPECT_FALSE(ex->done);
  call(make_result(req["id"], Json{{"text", "from client"}}));
  ASSERT_TRUE(ex->response);
  EXPECT_EQ((*ex->response)["result"]["content"][0]["text"], "from client");
}

TEST_F(ServerTest, ServerToClientRequestNeedsTheClientCapability) {
  auto r = request("initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()}});
  auto ex = call(make_request(3, "tools/call", {{"name", "ask"}}));
  EXPECT_TRUE(ex->sent.empty());
  ASSERT_TRUE(ex->response);
  EXPECT_TRUE((*ex->response)["result"]["isError"].get<bool>());
}

TEST_F(ServerTest, ClosingTheSessionFailsPendingRequests) {
  initialize();
  auto ex = call(make_request(3, "tools/call", {{"name", "ask"}}));
  server.close_session(session);
  EXPECT_TRUE(ex->done);  // cancelled: nothing more is sent
  EXPECT_FALSE(ex->response.has_value());
}

TEST_F(ServerTest, PaginatesWithOpaqueCursors) {
  initialize();
  auto first = request("prompts/list");
  ASSERT_EQ(first["result"]["prompts"].size(), 2u);
  ASSERT_TRUE(first["result"].contains("nextCursor"));
  auto second = request("prompts/list", {{"cursor", first["result"]["nextCursor"]}});
  ASSERT_EQ(second["result"]["prompts"].size(), 1u);
  EXPECT_EQ(second["result"]["prompts"][0]["name"], "p2");
  EXPECT_FALSE(second["result"].contains("nextCursor"));
  EXPECT_EQ(request("prompts/list", {{"cursor", "garbage"}})["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(request("prompts/list", {{"cursor", "o.99"}})["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ServerTest, PromptsCheckRequiredArguments) {
  initialize();
  EXPECT_EQ(request("prompts/get", {{"name", "p0"}})["error"]["code"], rpc::kInvalidParams);
  auto r = request("prompts/get", {{"name", "p0"}, {"arguments", {{"who", "me"}}}});
  EXPECT_EQ(r["result"]["messages"][0]["content"]["text"], "me");
  EXPECT_EQ(request("prompts/get", {{"name", "p1"}, {"arguments", {{"who", 1}}}})["error"]["code"],
            rpc::kInvalidParams);
  EXPECT_EQ(request("prompts/get", {{"name", "zz"}})["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ServerTest, ResourcesReadTemplatesAndNotFound) {
  initialize();
  EXPECT_EQ(request("resources/read", {{"uri", "test://a"}})["result"]["contents"][0]["text"], "A");
  EXPECT_EQ(request("resources/read", {{"uri", "test://item/42/data"}})["result"]["contents"][0]["text"],
            "item 42");
  EXPECT_EQ(request("resources/read", {{"uri", "test://item/missing/data"}})["error"]["code"],
            rpc::kResourceNotFound);
  EXPECT_EQ(request("resources/read", {{"uri", "test://zzz"}})["error"]["code"], rpc::kResourceNotFound);
  auto t = request("resources/templates/list");
  EXPECT_EQ(t["result"]["resourceTemplates"][0]["uriTemplate"], "test://item/{id}/data");
}

TEST_F(ServerTest, SubscriptionsReceiveUpdates) {
  initialize();
  std::vector<Json> out;
  session->set_outbound([&](const Json& m) {
    out.push_back(m);
    return true;
  });
  EXPECT_EQ(request("resources/subscribe", {{"uri", "test://a"}})["result"], Json::object());
  server.notify_resource_updated("test://a");
  server.notify_resource_updated("test://other");
  EXPECT_EQ(request("resources/unsubscribe", {{"uri", "test://a"}}, 2)["result"], Json::object());
  server.notify_resource_updated("test://a");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["method"], "notifications/resources/updated");
  EXPECT_EQ(out[0]["params"]["uri"], "test://a");
}

TEST_F(ServerTest, CompletionCapsValuesAt100) {
  initialize();
  auto r = request("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "p0"}}},
                                           {"argument", {{"name", "who"}, {"value", "x"}}}});
  EXPECT_EQ(r["result"]["completion"]["values"].size(), 100u);
  EXPECT_TRUE(r["result"]["completion"]["hasMore"].get<bool>());
  EXPECT_EQ(r["result"]["completion"]["total"], 150);
  auto bad = request("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "zz"}}},
                                             {"argument", {{"name", "who"}, {"value", "x"}}}});
  EXPECT_EQ(bad["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ServerTest, ObserverSeesEveryOutcomeWithBoundedLabels) {
  struct Seen final : CallObserver {
    std::vector<std::string> ends;
    int starts = 0;
    void on_call_start(CallContext&) override { ++starts; }
    void on_call_end(const CallContext& ctx, const CallOutcome& o) override {
      ends.push_back(std::string(method_label(ctx.method())) + " " + ctx.tool_name() + " " +
                     CallOutcome::name(o.kind));
    }
  } observer;
  server.add_call_observer(&observer);
  auto& seen = observer.ends;
  initialize();
  request("tools/call", {{"name", "echo"}}, 2);
  request("tools/call", {{"name", "fail"}}, 3);
  request("made/up", nullptr, 4);
  call(make_request(5, "tools/call", {{"name", "slow"}}));
  notify("notifications/cancelled", {{"requestId", 5}});
  EXPECT_EQ(seen,
            (std::vector<std::string>{"initialize  ok", "tools/call echo ok", "tools/call fail tool_error",
                                      "other  error", "tools/call slow cancelled"}));
  EXPECT_EQ(observer.starts, 5);
}

// Extensions offered per client: an audience sees the client's initialize capabilities.
TEST(ServerAudience, ShowsEntriesAndExtraMetaOnlyToClientsItAccepts) {
  Server server(ServerOptions{});
  const Audience wants_x = [](const Json& caps) {
    return caps.contains("extensions") && caps["extensions"].contains("x/y");
  };
  auto answer = [](CallPtr, Json, Reply<Json> reply) {
    reply(tool_result(Json::array({text_content("ok")})));
  };
  server.add_tool(Tool{"plain", "", "For everyone", {{"type", "object"}}, nullptr, nullptr, nullptr}, answer);
  server.add_tool(Tool{"extra", "", "For x/y clients", {{"type", "object"}}, nullptr, nullptr, nullptr},
                  answer, wants_x);
  server.add_tool_meta("plain", {{"x", {{"link", "x://view"}}}}, wants_x);
  EXPECT_THROW(server.add_tool_meta("nope", Json::object(), wants_x), std::invalid_argument);
  auto read = [](CallPtr, std::string uri, Reply<Json> r) {
    r(Json::array({{{"uri", uri}, {"text", "A"}}}));
  };
  server.add_resource(Resource{"test://all", "all", "", "", "text/plain"}, read);
  server.add_resource(Resource{"x://view", "view", "", "", "text/html", {{"x", true}}}, read, wants_x);

  auto open = [&](const std::string& id, Json caps) {
    auto s = server.open_session(id);
    auto ex = std::make_shared<RecordingExchange>();
    server.handle(
        s,
        std::get<Message>(to_message(make_request(1, "initialize",
                                                  {{"protocolVersion", "2025-11-25"},
                                                   {"capabilities", std::move(caps)},
                                                   {"clientInfo", {{"name", "t"}, {"version", "1"}}}}))),
        ex);
    server.handle(s, std::get<Message>(to_message(make_notification("notifications/initialized", nullptr))),
                  nullptr);
    return s;
  };
  auto ask = [&](const std::shared_ptr<Session>& s, std::string method, Json params) {
    auto ex = std::make_shared<RecordingExchange>();
    server.handle(s, std::get<Message>(to_message(make_request(2, method, std::move(params)))), ex);
    return ex->response.value_or(Json());
  };
  auto with_x = open("with", {{"extensions", {{"x/y", Json::object()}}}});
  auto without = open("without", Json::object());

  Json tools = ask(with_x, "tools/list", Json::object())["result"]["tools"];
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0]["_meta"], Json::parse(R"({"x": {"link": "x://view"}})"));
  EXPECT_EQ(ask(with_x, "tools/call", {{"name", "extra"}})["result"]["content"][0]["text"], "ok");
  Json resources = ask(with_x, "resources/list", Json::object())["result"]["resources"];
  ASSERT_EQ(resources.size(), 2u);
  EXPECT_EQ(resources[1]["_meta"], Json::parse(R"({"x": true})"));
  EXPECT_EQ(ask(with_x, "resources/read", {{"uri", "x://view"}})["result"]["contents"][0]["text"], "A");

  tools = ask(without, "tools/list", Json::object())["result"]["tools"];
  ASSERT_EQ(tools.size(), 1u);
  EXPECT_EQ(
      tools[0],
      Json::parse(R"({"name": "plain", "description": "For everyone", "inputSchema": {"type": "object"}})"));
  EXPECT_EQ(ask(without, "tools/call", {{"name", "extra"}})["error"]["code"], rpc::kInvalidParams);
  resources = ask(without, "resources/list", Json::object())["result"]["resources"];
  ASSERT_EQ(resources.size(), 1u);
  EXPECT_FALSE(resources[0].contains("_meta"));
  EXPECT_EQ(ask(without, "resources/read", {{"uri", "x://view"}})["error"]["code"], rpc::kResourceNotFound);
}

TEST(Types, ToolNameRules) {
  EXPECT_TRUE(is_valid_tool_name("get_task"));
  EXPECT_TRUE(is_valid_tool_name("a.b-c_D9"));
  EXPECT_FALSE(is_valid_tool_name(""));
  EXPECT_FALSE(is_valid_tool_name("has space"));
  EXPECT_FALSE(is_valid_tool_name(std::string(129, 'a')));
  Server s(ServerOptions{});
  Tool bad;
  bad.name = "bad name";
  EXPECT_THROW(s.add_tool(bad, nullptr), std::invalid_argument);
}

TEST(Types, UriTemplates) {
  auto m = match_uri_template("test://template/{id}/data", "test://template/123/data");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)[0].first, "id");
  EXPECT_EQ((*m)[0].second, "123");
  EXPECT_FALSE(match_uri_template("test://template/{id}/data", "test://template/1/2/data"));
  EXPECT_FALSE(match_uri_template("test://template/{id}/data", "test://template//data"));
  EXPECT_TRUE(match_uri_template("taskman://tasks/{id}", "taskman://tasks/abc"));
}

TEST(Types, StructuredResultCarriesTheSameJsonAsText) {
  auto r = structured_result(Json{{"task", {{"id", "1"}}}});
  EXPECT_EQ(Json::parse(r["content"][0]["text"].get<std::string>()), r["structuredContent"]);
}

}  // namespace
}  // namespace taskman::mcp
