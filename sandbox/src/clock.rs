//! Timestamps in the form .NET writes them: UTC, seven fractional digits, `Z`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` like `2023-04-04T19:17:22.0751316Z`.
pub(crate) fn dotnet_timestamp(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let ticks = since_epoch.subsec_nanos() / 100;
    let (year, month, day) = date_of_day(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The Gregorian date of a day counted from 1970-01-01.
fn date_of_day(day: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that the leap day is the last day of a counted year; a
    // 400-year cycle then always has 146,097 days.
    let from_march_0000 = day + 719_468;
    let cycle = from_march_0000 / 146_097;
    let day_of_cycle = from_march_0000 % 146_097;
    let year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = cycle * 400 + year_of_cycle + u64::from(month <= 2);
    (year, month, day_of_month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let at = |s: u64, n: u32| dotnet_timestamp(UNIX_EPOCH + Duration::new(s, n));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(
            at(1_680_635_842, 75_131_600),
            "2023-04-04T19:17:22.0751316Z"
        );
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(
            at(4_107_542_399, 999_999_999),
            "2100-02-28T23:59:59.9999999Z"
        );
    }
}
