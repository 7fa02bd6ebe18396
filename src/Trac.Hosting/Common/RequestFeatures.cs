using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Trac.Hosting.Common;

/// <summary>
/// Reads and writes a request's features through the collection's indexer. <c>IFeatureCollection.Get&lt;T&gt;()</c> and
/// <c>Set&lt;T&gt;()</c> are generic virtual methods: on Kestrel, finding which implementation to call costs more than
/// finding the feature, and the stages do it a dozen times per request.
/// </summary>
internal static class RequestFeatures
{
    public static T? Get<T>(HttpContext context)
        where T : class => context.Features[typeof(T)] as T;

    /// <summary>Sets the feature, or removes it when <paramref name="feature"/> is <see langword="null"/>.</summary>
    public static void Set<T>(HttpContext context, T? feature)
        where T : class => context.Features[typeof(T)] = feature;

    /// <summary>Returns a server variable (IIS, HTTP.sys), or <see langword="null"/> where the server has none.</summary>
    public static string? ServerVariable(HttpContext context, string name) => Get<IServerVariablesFeature>(context)?[name];
}
