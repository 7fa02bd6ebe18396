using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Trac.Hosting.Common;

/// <summary>
/// The short responses the pipeline writes itself. Every one has a Content-Length (Trac's responses do not). Errors
/// are plain text, or, for a client that accepts JSON when the host registered <c>AddProblemDetails()</c>, problem
/// details (RFC 9457) through <see cref="IProblemDetailsService"/>: the same status, the same fixed text as
/// <c>detail</c>, and a <c>type</c> per error (<see cref="ErrorTypePrefix"/> and a <see cref="TracErrors"/> name).
/// </summary>
internal static class TracResponses
{
    public const string EnvironmentNotFound = "Environment not found";

    /// <summary>Trac's own message when a login is asked for and no authentication is set up.</summary>
    public const string LoginUnavailable = "Authentication information not available. Please refer to the installation documentation.";

    /// <summary>What each error's problem-details <c>type</c> starts with.</summary>
    public const string ErrorTypePrefix = "urn:trac-hosting:error:";

    private const string TextPlain = "text/plain; charset=utf-8";

    private static readonly byte[] s_environmentNotFoundBody = Encoding.UTF8.GetBytes(EnvironmentNotFound);

    public static Task WriteEnvironmentNotFoundAsync(HttpContext context) =>
        WriteErrorAsync(context, StatusCodes.Status404NotFound, TracErrors.EnvironmentNotFound, s_environmentNotFoundBody);

    /// <summary>Writes Trac's error page body: <c>Trac Error</c>, a blank line, then <c>TracError: message</c> (as problem details: the message).</summary>
    public static Task WriteTracErrorAsync(HttpContext context, string type, string message) =>
        WantsProblemDetails(context) is { } problems
            ? WriteProblemAsync(context, problems, StatusCodes.Status500InternalServerError, type, message, null)
            : WriteAsync(context, StatusCodes.Status500InternalServerError, TextPlain, TracErrorBody(message));

    /// <summary>Writes an error whose plain-text body is <paramref name="text"/> (UTF-8), or its problem details.</summary>
    public static Task WriteErrorAsync(HttpContext context, int statusCode, string type, byte[] text) =>
        WantsProblemDetails(context) is { } problems
            ? WriteProblemAsync(context, problems, statusCode, type, null, text)
            : WriteAsync(context, statusCode, TextPlain, text);

    public static Task WriteAsync(HttpContext context, int statusCode, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }

    private static byte[] TracErrorBody(string message) => Encoding.UTF8.GetBytes("Trac Error\n\nTracError: " + message);

    // Only for a client that asks for JSON: a browser's Accept (text/html, */*) keeps the plain text.
    private static IProblemDetailsService? WantsProblemDetails(HttpContext context)
    {
        foreach (var accept in context.Request.Headers.Accept)
        {
            if (accept is not null && (accept.Contains("application/json", StringComparison.OrdinalIgnoreCase) ||
                accept.Contains("+json", StringComparison.OrdinalIgnoreCase)))
            {
                return context.RequestServices?.GetService<IProblemDetailsService>();
            }
        }

        return null;
    }

    private static async Task WriteProblemAsync(HttpContext context, IProblemDetailsService problems, int statusCode, string type, string? detail, byte[]? text)
    {
        var message = detail ?? Encoding.UTF8.GetString(text!);
        context.Response.StatusCode = statusCode;
        var problem = new ProblemDetails
        {
            Status = statusCode,
            Type = ErrorTypePrefix + type,
            Title = ReasonPhrases.GetReasonPhrase(statusCode),
            Detail = message,
        };
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await WriteAsync(context, statusCode, TextPlain, text ?? TracErrorBody(message));
        }
    }
}
