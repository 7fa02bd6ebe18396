using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Trac.Hosting.TestSupport;

/// <summary>
/// Plain HTTP on loopback for the tests that run real servers (nginx in front of the app): a request as a browser or
/// an attacker sends it, and a free port. Linked into each test project that needs it.
/// </summary>
internal static class LoopbackHttp
{
    /// <summary>Sends <c>GET</c> to <c>127.0.0.1:port</c>, with Basic credentials and a forged user header if given.</summary>
    /// <param name="port">The server's port.</param>
    /// <param name="path">The path and query.</param>
    /// <param name="basic">Credentials as <c>user:password</c>, sent in an <c>Authorization: Basic</c> header.</param>
    /// <param name="forgedUser">A value for <c>X-Remote-User</c>, as a client trying to pass for someone would send it.</param>
    public static async Task<(int Status, string Body)> GetAsync(int port, string path, string? basic = null, string? forgedUser = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        if (basic is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        }

        if (forgedUser is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Remote-User", forgedUser);
        }

        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Returns a loopback port no one listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
