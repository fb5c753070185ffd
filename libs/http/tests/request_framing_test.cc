#include "request_framing.h"

#include <gtest/gtest.h>

namespace portcullis::http::internal {
namespace {

TEST(RequestFramingTest, FollowsPipelinedRequestsAcrossChunkBoundaries) {
  RequestFraming f(1024, 10);
  std::string two = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n";
  for (char c : two)
    EXPECT_FALSE(f.Feed(std::string_view(&c, 1))) << "byte by byte";
  EXPECT_FALSE(f.Feed(two)) << "all at once";
}

TEST(RequestFramingTest, SaysWhereEachRequestEnds) {
  RequestFraming f(1024, 10);
  const std::string a = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string b = "GET /b HTTP/1.1\r\n\r\n";
  std::vector<std::size_t> ends;
  ASSERT_FALSE(f.Feed(a + b + "GET /c HT", &ends));
  EXPECT_EQ(ends, (std::vector<std::size_t>{a.size(), a.size() + b.size()}));
  ends.clear();
  const std::string rest_of_c = "TP/1.1\r\n\r\n";
  ASSERT_FALSE(f.Feed(rest_of_c + "POST /d HTTP/1.1\r\nContent-Length: 2\r\n\r\nx", &ends));
  EXPECT_EQ(ends, (std::vector<std::size_t>{rest_of_c.size()})) << "/d's body is not complete";
  ends.clear();
  ASSERT_FALSE(f.Feed("y", &ends));
  EXPECT_EQ(ends, (std::vector<std::size_t>{1}));
}

TEST(RequestFramingTest, BodyBytesThatLookLikeARequestAreNotParsedAsOne) {
  RequestFraming f(1024, 100);
  std::string body = "GET /x HTTP/1.1\r\nContent-Length: 999\r\n\r\n";
  EXPECT_FALSE(f.Feed("POST / HTTP/1.1\r\ncontent-length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body));
  EXPECT_FALSE(f.Feed("GET / HTTP/1.1\r\n\r\n"));
}

TEST(RequestFramingTest, RejectsOversizedBodiesBeforeTheyArrive) {
  RequestFraming f(1024, 10);
  auto r = f.Feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(f.rejected());
  EXPECT_TRUE(f.Feed("more bytes")) << "everything after a rejection is rejected";
}

TEST(RequestFramingTest, RejectsChunkedConflictingAndMalformedLengths) {
  EXPECT_EQ(RequestFraming(1024, 10)
                .Feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                ->status,
            411);
  EXPECT_EQ(RequestFraming(1024, 10)
                .Feed("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                ->status,
            400);
  EXPECT_EQ(RequestFraming(1024, 10).Feed("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")->status,
            400);
  EXPECT_EQ(RequestFraming(1024, 10).Feed("POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n")->status,
            400);
}

TEST(RequestFramingTest, RejectsHeaderNamesTheParserWouldReadDifferently) {
  for (const char* head : {"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
                           "POST / HTTP/1.1\r\n Content-Length: 5\r\n\r\n",
                           "POST / HTTP/1.1\r\nX-A: 1\r\n\tContent-Length: 5\r\n\r\n",
                           "POST / HTTP/1.1\r\nContent\x01Length: 5\r\n\r\n"}) {
    auto r = RequestFraming(1024, 10).Feed(head);
    ASSERT_TRUE(r) << head;
    EXPECT_EQ(r->status, 400) << head;
  }
}

TEST(RequestFramingTest, RejectsEndlessHeads) {
  RequestFraming f(64, 10);
  EXPECT_FALSE(f.Feed("GET / HTTP/1.1\r\n"));
  auto r = f.Feed("X-Filler: " + std::string(100, 'a'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
}

}  // namespace
}  // namespace portcullis::http::internal
