using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>Makes a <see cref="FastCgiProcessApplication"/> running any FastCGI command per worker (<c>DispatchToFastCgi()</c>).</summary>
internal sealed class FastCgiApplicationFactory(FastCgiProcessSettings settings) : IWorkerApplicationFactory
{
    private ILogger? _logger;

    public void Prepare(TracPipelineContext context) => _logger = context.CreateLogger("Trac.Hosting.Workers");

    public bool RunsOutOfProcess => true;

    public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context) => new FastCgiProcessApplication(settings, context, _logger!);
}
