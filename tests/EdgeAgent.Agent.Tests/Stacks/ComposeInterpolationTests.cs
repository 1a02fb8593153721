using EdgeAgent.Agent.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

public sealed class ComposeInterpolationTests
{
    private static readonly Dictionary<string, string> Variables = new()
    {
        ["NAME"] = "web",
        ["EMPTY"] = "",
        ["PORT"] = "8080",
        ["TAG_1"] = "1.2",
        ["_under"] = "u",
    };

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("$NAME", "web")]
    [InlineData("${NAME}", "web")]
    [InlineData("pre-$NAME-post", "pre-web-post")]
    [InlineData("${NAME}suffix", "websuffix")]
    [InlineData("$NAME.suffix", "web.suffix")]
    [InlineData("img:${TAG_1}", "img:1.2")]
    [InlineData("$_under", "u")]
    [InlineData("$UNSET", "")]
    [InlineData("${UNSET}", "")]
    [InlineData("a${UNSET}b", "ab")]
    [InlineData("$$", "$")]
    [InlineData("$$NAME", "$NAME")]
    [InlineData("cost: $$5", "cost: $5")]
    [InlineData("$$$NAME", "$web")]
    [InlineData("${UNSET:-fallback}", "fallback")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${NAME:-fallback}", "web")]
    [InlineData("${UNSET-fallback}", "fallback")]
    [InlineData("${EMPTY-fallback}", "")]
    [InlineData("${NAME-fallback}", "web")]
    [InlineData("${UNSET:-}", "")]
    [InlineData("${UNSET:-a b:c/d}", "a b:c/d")]
    [InlineData("${UNSET:-${PORT}}", "8080")]
    [InlineData("${UNSET:-${ALSO_UNSET:-deep}}", "deep")]
    [InlineData("${UNSET:-$$literal}", "$literal")]
    [InlineData("${NAME:+alt}", "alt")]
    [InlineData("${EMPTY:+alt}", "")]
    [InlineData("${EMPTY+alt}", "alt")]
    [InlineData("${UNSET+alt}", "")]
    [InlineData("${NAME:?must be set}", "web")]
    [InlineData("${EMPTY?must be set}", "")]
    [InlineData("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80")]
    public void Interpolates(string text, string expected)
    {
        ComposeInterpolation.TryInterpolate(text, Variables, out var result, out var error).Should().BeTrue(error);
        result.Should().Be(expected);
    }

    [Theory]
    [InlineData("${UNSET:?the database password}", "required variable UNSET is missing a value: the database password")]
    [InlineData("${EMPTY:?needed}", "required variable EMPTY is missing a value: needed")]
    [InlineData("${UNSET?needed}", "required variable UNSET is missing a value: needed")]
    [InlineData("${UNSET:?}", "required variable UNSET is missing a value: empty or unset")]
    [InlineData("${UNSET:?missing ${NAME}}", "required variable UNSET is missing a value: missing web")]
    public void RequiredVariablesFailWithTheirMessage(string text, string expected)
    {
        ComposeInterpolation.TryInterpolate(text, Variables, out _, out var error).Should().BeFalse();
        error.Should().Be(expected);
    }

    [Theory]
    [InlineData("trailing $")]
    [InlineData("$ space")]
    [InlineData("${NAME")]
    [InlineData("${}")]
    [InlineData("${1ABC}")]
    [InlineData("${NAME:x}")]
    [InlineData("${NAME!}")]
    [InlineData("${UNSET:-open")]
    [InlineData("$-")]
    public void MalformedExpressionsAreErrors(string text)
    {
        ComposeInterpolation.TryInterpolate(text, Variables, out _, out var error).Should().BeFalse();
        error.Should().Contain("invalid interpolation format");
    }

    [Fact]
    public void DeeplyNestedDefaultsAreAnErrorNotAStackOverflow()
    {
        var text = string.Concat(Enumerable.Repeat("${UNSET:-", 200_000)) + "x" + new string('}', 200_000);

        ComposeInterpolation.TryInterpolate(text, Variables, out _, out var error).Should().BeFalse();
        error.Should().Contain("nested more than");
        ComposeInterpolation.TryInterpolate(string.Concat(Enumerable.Repeat("${UNSET:-", 10)) + "x" + new string('}', 10), Variables, out var result, out _).Should().BeTrue();
        result.Should().Be("x");
    }

    [Fact]
    public void TheResultIsCappedAtTheGivenLength()
    {
        ComposeInterpolation.TryInterpolate("$NAME$NAME$NAME", Variables, 8, out _, out var error).Should().BeFalse();
        error.Should().Contain("longer than 8 characters");
        ComposeInterpolation.TryInterpolate("$NAME$NAME", Variables, 6, out var result, out _).Should().BeTrue();
        result.Should().Be("webweb");
    }

    [Fact]
    public void TheAgentsEnvironmentIsNeverUsed()
    {
        Environment.GetEnvironmentVariable("PATH").Should().NotBeNullOrEmpty();
        ComposeInterpolation.TryInterpolate("${PATH}", Variables, out var result, out _).Should().BeTrue();
        result.Should().BeEmpty();
    }
}
