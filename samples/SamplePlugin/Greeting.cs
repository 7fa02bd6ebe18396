using System.Runtime.Loader;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;

namespace SamplePlugin;

/// <summary>
/// A fragment of the project page contributed by this plugin. The host finds it because it implements
/// <see cref="IHtmlContent"/>, a type from the shared framework, so the plugin needs no reference to the host.
/// </summary>
public sealed class Greeting : IHtmlContent
{
    /// <summary>Writes a greeting that says which load context the plugin runs in: one per worker.</summary>
    /// <param name="writer">Where the page is written.</param>
    /// <param name="encoder">The page's HTML encoder.</param>
    public void WriteTo(TextWriter writer, HtmlEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(encoder);
        var context = AssemblyLoadContext.GetLoadContext(typeof(Greeting).Assembly)?.Name ?? "unknown";
        writer.Write("<p class=\"greeting\">Hello from SamplePlugin, loaded in <code>");
        writer.Write(encoder.Encode(context));
        writer.Write("</code>.</p>");
    }
}
