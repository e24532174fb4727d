import { parseConfig } from "../../stacks/config";
import { productionConfig } from "../support/fixtures";
import { evaluate } from "../../scripts/evaluate";

describe("jobs.stopTimeout (issue 12.6)", () => {
    test("defaults to 30 s (as Kamal) and reaches jobs-start's --stop-timeout and jobs-retire's docker stop --timeout", async () => {
        expect(parseConfig(productionConfig()).jobs.stopTimeout).toBe(30);
        const c = productionConfig();
        c.jobs.stopTimeout = 90;
        const e = await evaluate(c);
        expect(e.named("release-jobs-start-shred-day-jobs-ubuntu").inputs.create).toContain("STOP_TIMEOUT='90'");
        expect(e.named("release-jobs-retire-shred-day-jobs-ubuntu").inputs.create).toContain("STOP_TIMEOUT='90'");
        // The web keeps Puma's 30 s.
        expect(e.named("release-web").inputs.create).toContain("STOP_TIMEOUT='30'");
    });

    test("a value at or under Solid Queue's default shutdown_timeout is refused, naming the key and the app setting", () => {
        for (const bad of [5, 0, 9.5, 4000]) {
            const c = productionConfig();
            c.jobs.stopTimeout = bad;
            expect(() => parseConfig(c)).toThrow(/shred-day:jobs\.stopTimeout = [\d.]+: must be (a whole number of seconds from 10 to 3600|10\.\.3600 seconds)/);
        }
        const c = productionConfig();
        c.jobs.stopTimeout = 5;
        expect(() => parseConfig(c)).toThrow("above the app's config.solid_queue.shutdown_timeout (5 s by default)");
    });
});
