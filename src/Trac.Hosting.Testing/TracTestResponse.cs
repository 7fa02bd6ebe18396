using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting.Testing;

/// <summary>A response from a <see cref="TracTestHost"/>.</summary>
/// <param name="StatusCode">The status code.</param>
/// <param name="Body">The body, as text.</param>
/// <param name="Headers">The response and content headers.</param>
public sealed record TracTestResponse(int StatusCode, string Body, IReadOnlyDictionary<string, string> Headers);
