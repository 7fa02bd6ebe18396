using System.Text;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Common;

/// <summary>
/// The short responses the pipeline writes itself. Every one has a Content-Length (Trac's responses do not).
/// </summary>
internal static class TracResponses
{
    public const string EnvironmentNotFound = "Environment not found";

    /// <summary>Trac's own message when a login is asked for and no authentication is set up.</summary>
    public const string LoginUnavailable = "Authentication information not available. Please refer to the installation documentation.";

    private static readonly byte[] s_environmentNotFoundBody = Encoding.UTF8.GetBytes(EnvironmentNotFound);

    public static Task WriteEnvironmentNotFoundAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status404NotFound, "text/plain; charset=utf-8", s_environmentNotFoundBody);

    /// <summary>Writes Trac's error page body: <c>Trac Error</c>, a blank line, then <c>TracError: message</c>.</summary>
    public static Task WriteTracErrorAsync(HttpContext context, string message) =>
        WriteAsync(context, StatusCodes.Status500InternalServerError, "text/plain; charset=utf-8",
            Encoding.UTF8.GetBytes("Trac Error\n\nTracError: " + message));

    public static Task WriteAsync(HttpContext context, int statusCode, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }
}
