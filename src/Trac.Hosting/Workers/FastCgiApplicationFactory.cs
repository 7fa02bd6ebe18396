using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Workers;

/// <summary>Makes a <see cref="FastCgiProcessApplication"/> running any FastCGI command per worker (<c>DispatchToFastCgi()</c>).</summary>
internal sealed class FastCgiApplicationFactory(FastCgiOptions options) : IWorkerApplicationFactory
{
    private FastCgiProcessSettings? _settings;
    private ILogger? _logger;

    public void Prepare(TracPipelineContext context)
    {
        _settings = FastCgiProcessSettings.Create(options);
        _logger = context.CreateLogger("Trac.Hosting.Workers");
    }

    public bool RunsOutOfProcess => true;

    public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context) => new FastCgiProcessApplication(_settings!, context, _logger!);
}
