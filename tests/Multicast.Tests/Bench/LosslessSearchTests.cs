using Multicast.Cli.Bench;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>The bench's search for the highest lossless rate, driven by made-up trial outcomes.</summary>
[TestFixture]
public class LosslessSearchTests
{
    /// <summary>Runs the search against a system that loses 1 % above <paramref name="capacity"/> and a sender that reaches at most <paramref name="senderMax"/>.</summary>
    private static (LosslessSearch Search, List<double> Rates) Run(double capacity, double senderMax, int maxTrials = 30)
    {
        var search = new LosslessSearch(startRate: 25_000, maxRate: 2_000_000, maxQueueMs: null);
        var rates = new List<double>();
        while (!search.Done && rates.Count < maxTrials)
        {
            rates.Add(search.NextRate);
            double achieved = Math.Min(search.NextRate, senderMax);
            search.Record(achieved > capacity ? 0.01 : 0, achieved, backlogMs: 0);
        }
        return (search, rates);
    }

    [Test]
    public void DoublesUntilALoss_ThenBisectsToWithin8Percent()
    {
        (LosslessSearch s, List<double> rates) = Run(capacity: 43_000, senderMax: 1_000_000);
        Assert.That(rates.Take(3), Is.EqualTo(new[] { 25_000.0, 50_000, 37_500 }));
        Assert.That(s.Done, Is.True);
        Assert.That(s.LosslessRate, Is.LessThanOrEqualTo(43_000).And.GreaterThan(43_000 * 0.92), string.Join(", ", rates));
        Assert.That(s.SenderBound, Is.False);
    }

    [Test]
    public void ASenderThatCannotGoFaster_EndsTheSearchAfterTwoShortfalls()
    {
        (LosslessSearch s, List<double> rates) = Run(capacity: double.PositiveInfinity, senderMax: 52_000);
        Assert.That(rates, Is.EqualTo(new[] { 25_000.0, 50_000, 100_000, 100_000 }));
        Assert.That(s.LosslessRate, Is.EqualTo(52_000));
        Assert.That(s.SenderBound, Is.True);
    }

    /// <summary>
    /// A bench round of 2026-11-30: the 50,000/s trial lost nothing but its sender reached only 39,802/s; the same rate
    /// again reached 49,988/s and lost 2.6 %. The search then ended at 39,802/s, having taken 50,000/s as shown lossless.
    /// </summary>
    [Test]
    public void ALosslessTrialTheSenderFellShortOf_DoesNotEndTheBisection()
    {
        var s = new LosslessSearch(startRate: 25_000, maxRate: 2_000_000, maxQueueMs: null);
        s.Record(loss: 0, achieved: 25_000, backlogMs: 0);
        Assert.That(s.NextRate, Is.EqualTo(50_000));
        s.Record(loss: 0, achieved: 39_802, backlogMs: 0);
        Assert.That(s.NextRate, Is.EqualTo(50_000), "one shortfall: the same rate again");
        s.Record(loss: 0.02568, achieved: 49_988, backlogMs: 0);
        Assert.That(s.Done, Is.False);
        Assert.That(s.NextRate, Is.EqualTo((39_802 + 50_000) / 2.0), "bisects between what the sender reached lossless and what lost");
        s.Record(loss: 0, achieved: 44_901, backlogMs: 0);
        Assert.That(s.LosslessRate, Is.EqualTo(44_901));
    }

    [Test]
    public void OneSenderStall_RepeatsTheRate_AndTheLosslessRateIsWhatWasAchieved()
    {
        var s = new LosslessSearch(startRate: 25_000, maxRate: 2_000_000, maxQueueMs: null);
        s.Record(loss: 0, achieved: 20_000, backlogMs: 0);
        Assert.That(s.NextRate, Is.EqualTo(25_000));
        Assert.That(s.LosslessRate, Is.EqualTo(20_000));
        s.Record(loss: 0, achieved: 25_000, backlogMs: 0);
        Assert.That(s.NextRate, Is.EqualTo(50_000), "a full-pace trial resets the shortfall count");
    }

    [Test]
    public void WithAQueueLimit_ADeepQueueFailsATrialThatLostNothing()
    {
        var s = new LosslessSearch(startRate: 25_000, maxRate: 2_000_000, maxQueueMs: 5);
        s.Record(loss: 0, achieved: 25_000, backlogMs: 2);
        s.Record(loss: 0, achieved: 50_000, backlogMs: 80);
        Assert.That(s.LosslessRate, Is.EqualTo(25_000));
        Assert.That(s.BacklogMsAtLosslessRate, Is.EqualTo(2));
        Assert.That(s.NextRate, Is.EqualTo(37_500));
    }

    [Test]
    public void TheMaximumRate_EndsTheSearch()
    {
        var s = new LosslessSearch(startRate: 25_000, maxRate: 40_000, maxQueueMs: null);
        s.Record(loss: 0, achieved: 25_000, backlogMs: 0);
        Assert.That(s.NextRate, Is.EqualTo(40_000));
        s.Record(loss: 0.0005, achieved: 40_000, backlogMs: 0);
        Assert.That(s.Done, Is.True);
        Assert.That(s.LosslessRate, Is.EqualTo(40_000), "0.05 % is under the 0.1 % limit");
        Assert.That(() => s.Record(0, 40_000, 0), Throws.InvalidOperationException);
    }
}
