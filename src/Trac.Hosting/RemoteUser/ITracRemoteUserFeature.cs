using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The result of remote-user normalization for one request, in <see cref="HttpContext.Features"/>.
/// </summary>
public interface ITracRemoteUserFeature
{
    /// <summary>Gets the canonical user name, or <see langword="null"/> for an anonymous request.</summary>
    string? RemoteUser { get; }

    /// <summary>Gets the value as the source gave it, or <see langword="null"/> when no source had one.</summary>
    string? OriginalValue { get; }

    /// <summary>Gets the source <see cref="OriginalValue"/> came from, or <see langword="null"/> when none had a value.</summary>
    RemoteUserSource? Source { get; }
}
