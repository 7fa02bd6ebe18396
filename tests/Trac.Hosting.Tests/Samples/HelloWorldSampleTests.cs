using Microsoft.AspNetCore.Mvc.Testing;

namespace Trac.Hosting.Tests.Samples;

/// <summary>The README's "run it" sample works as shipped, on its bundled demo environment.</summary>
public sealed class HelloWorldSampleTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    [Fact]
    public async Task HelloWorld_ServesItsBundledEnvironment()
    {
        var client = factory.CreateClient();

        var body = await client.GetStringAsync("/wiki");

        Assert.StartsWith("Hello World!\n\nProject: Hello World\nEnvironment: ", body, StringComparison.Ordinal);
        Assert.Contains("demo-env", body, StringComparison.Ordinal);
    }
}
