using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Tests.FastCgi;

/// <summary>The CGI header section of an application's output, however the output is cut, and what reaches the response.</summary>
public sealed class CgiResponseReaderTests
{
    private const string TracLikeOutput =
        "Status: 200 Ok\r\n" +
        "Content-Type: text/html;charset=utf-8\r\n" +
        "Set-Cookie: trac_form_token=abc; Path=/alpha/\r\n" +
        "Set-Cookie: trac_session=def; Path=/alpha/\r\n" +
        "Connection: close\r\n" +
        "\r\n" +
        "<html>body\n\nwith blank lines</html>";

    [Fact]
    public void OutputCutAtEveryByte_GivesTheSameHeadAndBody()
    {
        var bytes = Encoding.ASCII.GetBytes(TracLikeOutput);
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var reader = new CgiResponseReader();
            var body = new List<byte>();
            body.AddRange(reader.Feed(new ReadOnlySequence<byte>(bytes, 0, cut)).ToArray());
            body.AddRange(reader.Feed(new ReadOnlySequence<byte>(bytes, cut, bytes.Length - cut)).ToArray());

            Assert.NotNull(reader.Head);
            Assert.Equal(200, reader.Head.StatusCode);
            Assert.Equal("<html>body\n\nwith blank lines</html>", Encoding.ASCII.GetString(body.ToArray()));
        }
    }

    [Fact]
    public void Head_KeepsRepeatedHeadersApart_AndTheResponseDropsFramingFields()
    {
        var reader = new CgiResponseReader();
        reader.Feed(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(TracLikeOutput)));
        var response = new DefaultHttpContext().Response;

        reader.Head!.ApplyTo(response);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("text/html;charset=utf-8", response.ContentType);
        Assert.Equal(new[] { "trac_form_token=abc; Path=/alpha/", "trac_session=def; Path=/alpha/" }, response.Headers.SetCookie.Select(v => v ?? ""));
        Assert.False(response.Headers.ContainsKey("Connection"));
    }

    [Theory]
    [InlineData("Location: /alpha/wiki/Start\n\n", 302)]
    [InlineData("Status: 303 See Other\nLocation: /alpha/login\n\n", 303)]
    [InlineData("Status: 404\n\n", 404)]
    [InlineData("Content-Type: text/plain\n\n", 200)]
    public void Status_ComesFromStatusThenLocationThenDefault(string output, int expected)
    {
        var reader = new CgiResponseReader();

        reader.Feed(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(output)));

        Assert.Equal(expected, reader.Head!.StatusCode);
        Assert.DoesNotContain(reader.Head.Headers, h => h.Key == "Status");
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", "is not 'Name: value'")]
    [InlineData("Bad Name: x\r\n\r\n", "is not 'Name: value'")]
    [InlineData("Status: OK\r\n\r\n", "is not a three-digit code")]
    [InlineData("Status: 2000 Huge\r\n\r\n", "is not a three-digit code")]
    public void MalformedHead_IsAProtocolError(string output, string expected)
    {
        var reader = new CgiResponseReader();

        var error = Assert.Throws<FastCgiProtocolException>(() => reader.Feed(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(output))));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeadLongerThanTheLimit_IsAProtocolError_WithoutKeepingMore()
    {
        var reader = new CgiResponseReader(maxHeaderBytes: 1024);
        var line = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("X-Padding: " + new string('p', 200) + "\r\n"));

        var error = Assert.Throws<FastCgiProtocolException>(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                reader.Feed(line);
            }
        });

        Assert.Contains("longer than 1024 bytes", error.Message, StringComparison.Ordinal);
        Assert.Null(reader.Head);
    }

    [Fact]
    public void BodyAfterTheHead_PassesThroughUntouched()
    {
        var reader = new CgiResponseReader();
        reader.Feed(new ReadOnlySequence<byte>("Status: 200 Ok\n\n"u8.ToArray()));
        var binary = new byte[] { 0, 1, 2, 255, (byte)'\n', (byte)'\n' };

        var body = reader.Feed(new ReadOnlySequence<byte>(binary));

        Assert.Equal(binary, body.ToArray());
    }
}
