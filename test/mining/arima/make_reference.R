# make_reference.R: the oracle for test/mining/arima. Fits with R's own
# stats::arima (forecast::auto.arima for reference_auto.txt) the classic
# series of R's documentation, and writes the data (data/*.txt, one value a
# line, NA for missing) and R's estimates (reference.txt). The C test reads
# both; R is needed only to regenerate them:
#
#   Rscript make_reference.R        (R >= 4.2, r-cran-forecast for auto.arima)
#
# Each case: name, data set, order, method, then R's coefficients with
# standard errors, sigma^2, log-likelihood, AIC, and forecasts with their
# standard errors.
options(digits = 15)
out <- file("reference.txt", "w")
w <- function(...) cat(..., "\n", file = out, sep = " ")
write_data <- function(name, x) {
  v <- as.numeric(x)
  writeLines(ifelse(is.na(v), "NA", formatC(v, digits = 17, format = "g")),
             file.path("data", paste0(name, ".txt")))
}

set.seed(20261201)
# a daily series with weekly seasonality, as in bench/arima
sim7 <- ts(100 + 10 * sin(2 * pi * (1:364) / 7) +
           arima.sim(list(ar = 0.5, ma = 0.3), n = 364, sd = 2), frequency = 7)
lh_na <- lh; lh_na[c(5, 20, 21)] <- NA

datasets <- list(lh = lh, LakeHuron = LakeHuron, USAccDeaths = USAccDeaths,
                 logAirPassengers = log(AirPassengers), presidents = presidents,
                 lh_na = lh_na, nottem = nottem, sim7 = sim7, austres = austres,
                 WWWusage = WWWusage)
for (nm in names(datasets)) write_data(nm, datasets[[nm]])

case <- function(name, data, order, seasonal = c(0, 0, 0), period = 0,
                 mean = TRUE, drift = FALSE, method = "CSS-ML", h = 12) {
  x <- datasets[[data]]
  if (drift) {
    # a drift is a regressor 1..n (forecast::Arima's include.drift), fitted
    # here by stats::arima itself so that sigma^2 is stats::arima's
    xr <- matrix(seq_along(x), ncol = 1, dimnames = list(NULL, "drift"))
    fit <- arima(x, order = order, seasonal = list(order = seasonal, period = period),
                 xreg = xr, include.mean = mean, method = method)
    pr <- predict(fit, n.ahead = h,
                  newxreg = matrix(length(x) + seq_len(h), ncol = 1, dimnames = list(NULL, "drift")))
  } else {
    fit <- arima(x, order = order, seasonal = list(order = seasonal, period = period),
                 include.mean = mean, method = method)
    pr <- predict(fit, n.ahead = h)
  }
  pm <- as.numeric(pr$pred)
  pse <- as.numeric(pr$se)
  w("case", name)
  w("data", data)
  w("order", order, seasonal, period)
  w("mean", as.integer(mean), as.integer(drift))
  w("method", method)
  se <- sqrt(diag(fit$var.coef))
  for (i in seq_along(fit$coef))
    w("coef", names(fit$coef)[i], format(fit$coef[i], digits = 15), format(se[i], digits = 15))
  w("sigma2", format(fit$sigma2, digits = 15))
  w("loglik", format(fit$loglik, digits = 15))
  w("aic", format(if (is.na(fit$aic)) NaN else fit$aic, digits = 15))
  for (i in seq_len(h))
    w("fc", i, format(pm[i], digits = 15), format(pse[i], digits = 15))
  w("end")
}

# ?arima's examples and the classic textbook fits
case("lh_ar1", "lh", c(1, 0, 0))
case("lh_ar3", "lh", c(3, 0, 0))
case("lh_arma11", "lh", c(1, 0, 1))
case("lh_ar3_css", "lh", c(3, 0, 0), method = "CSS")
case("lh_ar1_ml", "lh", c(1, 0, 0), method = "ML")
case("lh_na_ar1", "lh_na", c(1, 0, 0))
case("presidents_ar1", "presidents", c(1, 0, 0))
case("presidents_ar3", "presidents", c(3, 0, 0), h = 8)
case("LakeHuron_ar2", "LakeHuron", c(2, 0, 0))
case("LakeHuron_arma11", "LakeHuron", c(1, 0, 1))
case("USAccDeaths_airline", "USAccDeaths", c(0, 1, 1), c(0, 1, 1), 12, h = 24)
case("USAccDeaths_airline_css", "USAccDeaths", c(0, 1, 1), c(0, 1, 1), 12, method = "CSS")
case("airline", "logAirPassengers", c(0, 1, 1), c(0, 1, 1), 12, h = 24)
case("nottem_sar", "nottem", c(1, 0, 0), c(1, 0, 0), 12, h = 24)
case("nottem_sarma_ml", "nottem", c(1, 0, 1), c(1, 0, 1), 12, method = "ML", h = 24)
case("sim7_bench", "sim7", c(1, 0, 1), c(1, 1, 1), 7, h = 14)
case("WWWusage_arima111", "WWWusage", c(1, 1, 1), h = 10)
case("WWWusage_ar3_d1", "WWWusage", c(3, 1, 0), h = 10)
case("austres_drift", "austres", c(1, 1, 0), drift = TRUE, h = 8)
case("lh_ar1_drift", "lh", c(1, 0, 0), drift = TRUE, h = 8)
close(out)

# automatic order selection (forecast::auto.arima, stepwise, AICc)
out <- file("reference_auto.txt", "w")
for (nm in c("lh", "LakeHuron", "USAccDeaths", "logAirPassengers", "WWWusage", "austres", "nottem", "sim7")) {
  f <- forecast::auto.arima(datasets[[nm]])
  a <- f$arma
  cat("auto", nm, frequency(datasets[[nm]]), a[1], a[6], a[2], a[3], a[7], a[4],
      as.integer("intercept" %in% names(f$coef)), as.integer("drift" %in% names(f$coef)),
      format(f$aicc, digits = 10), "\n", file = out)
}
close(out)
