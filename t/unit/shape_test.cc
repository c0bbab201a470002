#include "core/shape.h"

#include <gtest/gtest.h>

using headroom::detect_shape;
using headroom::Shape;
using headroom::shape_name;
namespace json = headroom::json;

namespace {

Shape shape_of(const char* path, const char* body) {
    auto r = json::parse(body, 512);
    EXPECT_TRUE(r.ok()) << body;
    return detect_shape(path, r.value);
}

}  // namespace

TEST(Shape, ByPathConfirmedByBody) {
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"model":"m","messages":[]})"),
              Shape::OpenAIChat);
    EXPECT_EQ(shape_of("/v1/responses", R"({"model":"m","input":[]})"), Shape::OpenAIResponses);
    EXPECT_EQ(shape_of("/v1/responses", R"({"model":"m","input":"hi"})"), Shape::OpenAIResponses);
    EXPECT_EQ(shape_of("/v1/messages", R"({"model":"m","max_tokens":1,"messages":[]})"),
              Shape::AnthropicMessages);
    EXPECT_EQ(shape_of("/v1/messages/count_tokens", R"({"model":"m","messages":[]})"),
              Shape::AnthropicMessages);
}

TEST(Shape, PrefixedPathsAreRecognised) {
    EXPECT_EQ(shape_of("/openai/deployments/gpt/chat/completions", R"({"messages":[]})"),
              Shape::OpenAIChat);
    EXPECT_EQ(shape_of("/api/v1/responses", R"({"input":[]})"), Shape::OpenAIResponses);
}

TEST(Shape, MismatchedBodyOrPathIsUnknown) {
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"input":[]})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"messages":"x"})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/responses", R"({"messages":[]})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/responses", R"({"input":5})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/messages", R"({"messages":{}})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/embeddings", R"({"messages":[]})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/chat/completions/x", R"({"messages":[]})"), Shape::Unknown);
    EXPECT_EQ(shape_of("/v1/chat/completions", R"([{"messages":[]}])"), Shape::Unknown);
}

TEST(Shape, Names) {
    EXPECT_STREQ(shape_name(Shape::OpenAIChat), "openai_chat");
    EXPECT_STREQ(shape_name(Shape::OpenAIResponses), "openai_responses");
    EXPECT_STREQ(shape_name(Shape::AnthropicMessages), "anthropic_messages");
    EXPECT_STREQ(shape_name(Shape::Unknown), "unknown");
}

TEST(Shape, FromPathAlone) {
    EXPECT_EQ(headroom::shape_from_path("/v1/chat/completions"), Shape::OpenAIChat);
    EXPECT_EQ(headroom::shape_from_path("/v1/responses"), Shape::OpenAIResponses);
    EXPECT_EQ(headroom::shape_from_path("/v1/messages"), Shape::AnthropicMessages);
    EXPECT_EQ(headroom::shape_from_path("/v1/embeddings"), Shape::Unknown);
    EXPECT_EQ(headroom::shape_from_path(""), Shape::Unknown);
}
