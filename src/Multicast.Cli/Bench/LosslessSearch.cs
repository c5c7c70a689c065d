namespace Multicast.Cli.Bench;

/// <summary>
/// The search for the highest sender rate with &lt; 0.1 % loss: doubling from the start rate until a trial loses, then
/// bisection between the fastest rate shown lossless and the slowest that lost, until they are within 8 %. The caller
/// runs a trial at <see cref="NextRate"/>, hands its outcome to <see cref="Record"/>, and stops at <see cref="Done"/>
/// or when its time budget runs out.
/// </summary>
public sealed class LosslessSearch(double startRate, double maxRate, double? maxQueueMs)
{
    public const double LossLimit = 0.001; // < 0.1 %

    /// <summary>A trial whose sender reached less than this share of the asked rate was bound by the sender.</summary>
    private const double SenderBoundShare = 0.9;

    private double _lo, _hi = double.PositiveInfinity;
    private int _boundStreak;

    public double NextRate { get; private set; } = Math.Min(startRate, maxRate);
    public bool Done { get; private set; }

    /// <summary>The fastest achieved rate of a passing trial, and that trial's loss and backlog.</summary>
    public double LosslessRate { get; private set; }
    public double LossAtLosslessRate { get; private set; }
    public double? BacklogMsAtLosslessRate { get; private set; }

    /// <summary>The search ended because the sender could not go faster, not because of loss.</summary>
    public bool SenderBound { get; private set; }

    /// <summary>Takes the outcome of the trial at <see cref="NextRate"/> and chooses the next rate, or ends.</summary>
    public void Record(double loss, double achieved, double backlogMs)
    {
        if (Done) throw new InvalidOperationException("the search has ended");
        double rate = NextRate;
        bool senderBound = achieved < SenderBoundShare * rate;
        // A busy shared machine can stall the sender once; only a repeated shortfall ends the search.
        _boundStreak = senderBound ? _boundStreak + 1 : 0;
        if (loss < LossLimit && (maxQueueMs is not double maxQueue || backlogMs <= maxQueue))
        {
            if (achieved > LosslessRate)
            {
                LosslessRate = achieved;
                LossAtLosslessRate = loss;
                BacklogMsAtLosslessRate = backlogMs;
            }
            // A rate the sender fell short of was not shown lossless, only what it reached: the floor is what it reached,
            // so a loss at the asked rate next still leaves a range to bisect.
            _lo = Math.Max(_lo, senderBound ? achieved : rate);
            if (_boundStreak >= 2 || rate >= maxRate) { End(senderBound); return; }
            if (senderBound) return; // the same rate again
        }
        else
        {
            // Lost while the sender could not even keep pace: the fastest the sender reaches is the bound.
            _hi = Math.Min(_hi, senderBound ? Math.Max(achieved, _lo) : rate);
        }
        if (double.IsPositiveInfinity(_hi)) NextRate = Math.Min(rate * 2, maxRate);
        else if (_hi - _lo <= 0.08 * _hi) End(senderBound: false);
        else NextRate = (_lo + _hi) / 2;
    }

    private void End(bool senderBound)
    {
        SenderBound = senderBound;
        Done = true;
    }
}
