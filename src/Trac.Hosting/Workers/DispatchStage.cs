using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>
/// Ends the pipeline with the workers' applications: tells the pool what each worker runs (an instance of the host's
/// application type, or another kind of worker application), and hands each request to its worker's application.
/// </summary>
internal sealed class DispatchStage(IWorkerApplicationFactory applications) : ITracStage
{
    public TracStage Stage => TracStage.Dispatch;

    public IReadOnlyList<TracStage> Requires => [TracStage.RecycleWorkers];

    public void Apply(TracPipelineContext context)
    {
        applications.Prepare(context);
        context.Require<WorkerPool>().Applications = applications;
        context.App.Run(static context => ((Worker)RequestFeatures.Get<ITracWorker>(context)!).Application!.DispatchAsync(context));
    }
}
